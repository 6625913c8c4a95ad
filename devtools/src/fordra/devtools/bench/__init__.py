"""Benchmarks run by ``fordra-dev bench`` (and ``make bench``): measured, printed, not timed."""
