"""``lucent``: the command line of the platform — one entry point for every kind of process.

``lucent up`` runs the whole platform locally; ``lucent worker NAME`` runs one streaming
worker; the other commands operate on a running stack (or on the services the settings name).
Together with ``lucent_platform/definitions.py`` (Dagster) this is one of the two entry points,
so it is the one core module allowed to reach up into ``streaming/`` (lazily, per command).
"""

from __future__ import annotations

from lucent_platform.cli.main import main

__all__ = ["main"]
