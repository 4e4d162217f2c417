"""Run every benchmark in turn (``make bench``)."""

from bench import lifecycle

if __name__ == "__main__":
    lifecycle.main()
