"""The intake parser with one platform profile and with two side by side.

Parses 10,000 target lines, seven times each, and prints the median: handles and links of
one platform through the X-like profile alone (the cost before several platforms), the
same list through the set of both profiles (what routing each line by its host adds),
and a list half X-like and half Telegram-like links through the set.

Run: ``.venv/bin/python -m bench.intake_platforms`` (no database, no app).
"""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable

from portal.intake import X_PROFILE, Platforms, PlatformSet, parse_text

LINES = 10_000
RUNS = 7


def x_list() -> str:
    return "\n".join(f"@handle_{n:06d}" if n % 2 else f"https://x.com/user_{n}/status/{n + 1}"
                     for n in range(LINES))


def mixed_list() -> str:
    return "\n".join(f"https://t.me/channel_{n:06d}" if n % 2 else f"https://x.com/user_{n}"
                     for n in range(LINES))


def median_ms(work: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(text: str, profile: Platforms) -> float:
    result = parse_text(text, profile)
    assert len(result.accepted) == LINES and not result.rejected
    return median_ms(lambda: parse_text(text, profile))


def main() -> None:
    both = PlatformSet.of(["x", "telegram"])
    print(f"{platform.node()} · Python {platform.python_version()} · {LINES:,} lines, "
          f"median of {RUNS}")
    print(f"X-like list, X-like profile alone : {measure(x_list(), X_PROFILE):7.1f} ms")
    print(f"X-like list, both profiles        : {measure(x_list(), both):7.1f} ms")
    print(f"half X-like, half Telegram-like   : {measure(mixed_list(), both):7.1f} ms")


if __name__ == "__main__":
    main()
