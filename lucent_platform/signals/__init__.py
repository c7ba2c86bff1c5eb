"""Signal apps' building blocks (issue #6): event-time windows with grace and late-event
routing, aggregations, tables for stream–table joins, and ``WindowedApp``, the processor a
windowed app is. Pure: the runtime (``streaming.runtime``) does the I/O and the rebuild."""

from __future__ import annotations

from lucent_platform.signals.aggregates import Extremes, FirstLast, Stats, Welford
from lucent_platform.signals.app import LATE_EVENT, Event, WindowedApp
from lucent_platform.signals.table import Table
from lucent_platform.signals.windows import Closed, Mark, Window, Windows, WindowSpec

__all__ = [
    "LATE_EVENT",
    "Closed",
    "Event",
    "Extremes",
    "FirstLast",
    "Mark",
    "Stats",
    "Table",
    "Welford",
    "Window",
    "WindowSpec",
    "WindowedApp",
    "Windows",
]
