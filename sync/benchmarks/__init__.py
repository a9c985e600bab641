"""Benchmarks and fault drills (``bench_sync``, ``chaos``): simulators, the sync as a child
process, figures. May import everything; only management commands and tests import it."""
