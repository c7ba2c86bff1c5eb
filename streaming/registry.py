"""Every streaming worker by name: what ``lucent worker NAME`` runs and ``lucent up`` starts.

A worker is a callable taking the settings and the resolved endpoints and running until it is
told to stop (SIGTERM/SIGINT). Capabilities register their workers here as they land.
"""

from __future__ import annotations

from collections.abc import Callable

from lucent_platform.config import Settings
from lucent_platform.stack.endpoints import Endpoints

WorkerMain = Callable[[Settings, Endpoints], None]


def _feed(settings: Settings, endpoints: Endpoints) -> None:
    from streaming.feeds.worker import main

    main(settings, endpoints)


def _processor(settings: Settings, endpoints: Endpoints) -> None:
    from streaming.processor import main

    main(settings, endpoints)


WORKERS: dict[str, WorkerMain] = {
    "processor": _processor,
    "feed": _feed,
}
"""Name → entry point. ``lucent up`` starts all of them, in this order."""

EXPECTED_STAGES: dict[str, tuple[str, ...]] = {
    "feed": ("ingested",),
    "processor": ("normalized",),
}
"""Worker name → the demo stages it must make non-empty (see ``lucent_platform.stage_report``)."""
