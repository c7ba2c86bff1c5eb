"""What can happen at a moment of the simulation, packed in one int for fast dispatch.

An event is ``(time_ms, code)`` with ``code = action << SHIFT | target``, the target being the
index of the venue feed (or pool, for ``YIELD``) it happens to.
"""

from __future__ import annotations

TICKER, TRADE, DELTA, YIELD, SNAPSHOT, OUTLIER, LATE, DUPLICATE, MALFORMED = range(9)
SHIFT = 16
TARGET_MASK = (1 << SHIFT) - 1

Event = tuple[int, int]


def event(time_ms: int, action: int, target: int) -> Event:
    return time_ms, action << SHIFT | target
