"""Benchmarks: each module's ``run(...) -> dict`` measures, prints a table and returns figures.

They are run on demand (``lucent bench <name>``), never as part of the test suite.
"""
