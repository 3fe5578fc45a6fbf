"""Benchmarks that print ratios against a baseline timed in the same process.

Each ``benchmarks/bench_*.py`` module defines ``run()``, which calls :func:`compare` one or
more times. ``python -m benchmarks [SUBSTRING ...]`` (``make bench``) runs them all.
"""
