"""Benchmarks run by ``fordra bench`` (and ``make bench``): measured, printed, never timed tests."""
