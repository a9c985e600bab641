"""Benchmarks and fault drills for the sync (``bench_sync``, ``chaos``): they start the simulators,
run the real sync as a subprocess and print figures. Only management commands and tests import this.
"""
