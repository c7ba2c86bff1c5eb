"""Benchmarks of the streaming workers (run by `lucent bench …`)."""
