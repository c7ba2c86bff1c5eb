"""Always-on streaming workers: feeds, processor, signal apps, sinks, bridge, domain handlers.

Each worker reads through an adapter, calls pure functions from ``lucent_platform``, and writes
through an adapter. ``streaming`` never imports Dagster.
"""
