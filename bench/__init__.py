"""Benchmarks: not tests. Each prints its figures; results go in docs/BENCHMARKS.md."""
