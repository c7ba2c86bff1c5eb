"""Event-time windows with a grace period, per input partition (DESIGN.md decision 4).

A window is ``[start, end)`` in event time (UTC ms). Tumbling windows (``hop_ms == size_ms``)
give each event one window; hopping windows (``hop_ms < size_ms``) give it ``size / hop``.

**Watermark.** Each input partition has one watermark, the event time up to which its windows
are complete: the highest event time seen minus ``grace_ms``. A window closes (is handed back
to the app, once) as soon as the watermark reaches its end, so an event may arrive up to
``grace_ms`` after younger events and still count. Keys share their partition's watermark,
so a quiet key's windows close as its busier neighbours move event time on. When the whole
partition goes quiet, the watermark moves on with the wall clock: ``idle_ms`` after the last
record it starts advancing one ms per ms from where it was (``tick``), so every window
still closes at most ``end - watermark + idle_ms`` after the last record.

**Late events.** An event whose every window has already closed (end at or before the
watermark when it arrives) is late: ``add`` says so and the app routes it (a dead letter
with reason ``late_event``); it is counted, never silently dropped. With hopping windows an
event whose older windows closed but whose younger ones are open counts in the open ones.

**Determinism.** Closing and lateness are decided record by record, never per batch, so the
same records in the same order give the same windows whatever the batching; only ``tick``
(the wall clock) depends on time, and it changes nothing while records keep arriving.

**Rebuild.** ``mark()`` is what a restart needs: the offset of the oldest record any open
window holds (re-read from there) and the watermark. Replaying the records from that offset
up to where processing stopped, on windows restored with that watermark, gives back exactly
the windows open then: a window still open then was open when each of its records arrived,
and every other record is now late for windows already handed back (the replay discards
outputs). **Memory**: per partition, at most keys × (size + grace + hop) / hop open windows.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from lucent_platform.envelope import message_id_for

S = TypeVar("S")


@dataclass(frozen=True)
class WindowSpec:
    """Window size, hop (0 or equal to size: tumbling), grace and the idle allowance (ms)."""

    size_ms: int
    hop_ms: int = 0
    grace_ms: int = 0
    idle_ms: int = 1000

    def __post_init__(self) -> None:
        if self.size_ms <= 0:
            raise ValueError(f"window size must be positive, got {self.size_ms} ms")
        if self.hop_ms == 0:
            object.__setattr__(self, "hop_ms", self.size_ms)
        if not 0 < self.hop_ms <= self.size_ms:
            raise ValueError(f"hop must be in (0, size], got {self.hop_ms} for {self.size_ms}")
        if self.grace_ms < 0 or self.idle_ms < 0:
            raise ValueError("grace and idle allowance must not be negative")

    def starts(self, event_ms: int) -> range:
        """Starts of every window holding ``event_ms``, oldest first (multiples of the hop)."""
        hop = self.hop_ms
        first = ((event_ms - self.size_ms) // hop + 1) * hop
        return range(first, (event_ms // hop) * hop + 1, hop)


@dataclass(frozen=True, order=True)
class Window:
    """One key's window ``[start_ms, end_ms)``."""

    key: str
    start_ms: int
    end_ms: int

    def message_id(self, app: str) -> str:
        """A deterministic id for the app's output about this window: a restarted worker
        that emits it again emits the same id, so consumers de-duplicate by message id."""
        return message_id_for(app, self.key, self.start_ms, self.end_ms)


@dataclass(frozen=True)
class Closed(Generic[S]):
    """A window handed back, with the state the app built over its events."""

    window: Window
    state: S
    events: int


@dataclass(frozen=True)
class Mark:
    """Where a partition's window state can be rebuilt from: re-read input from ``start``
    (None: no window is open, nothing to re-read) with the watermark ``watermark_ms``."""

    start: int | None
    watermark_ms: int | None


class _Open(Generic[S]):
    __slots__ = ("events", "first_offset", "state")

    def __init__(self, state: S, first_offset: int) -> None:
        self.state = state
        self.first_offset = first_offset
        self.events = 0


class Windows(Generic[S]):
    """The open windows of one input partition; ``new_state`` makes a window's empty state."""

    def __init__(
        self, spec: WindowSpec, new_state: Callable[[], S], mark: Mark | None = None
    ) -> None:
        self.spec = spec
        self._new_state = new_state
        self._open: dict[Window, _Open[S]] = {}
        # heap of (end, key, start, window): the next window to close first, ties in a
        # fixed order so output order never depends on insertion order
        self._ends: list[tuple[int, str, int, Window]] = []
        self.watermark_ms: int | None = None if mark is None else mark.watermark_ms
        self._quiet_since_ms: int | None = None  # wall clock of the last record
        self._watermark_then: int | None = self.watermark_ms
        self.last_added: list[Window] = []  # the windows the last ``add`` counted its event in

    def __len__(self) -> int:
        return len(self._open)

    def add(self, key: str, event_ms: int, offset: int) -> list[S] | None:
        """The states of the open windows ``event_ms`` falls in, for the app to update (the
        event is counted in each); None when the event is late. Call ``advance`` after."""
        spec, watermark = self.spec, self.watermark_ms
        states: list[S] = []
        added: list[Window] = []  # the windows of those states, same order
        self.last_added = added
        for start in spec.starts(event_ms):
            end = start + spec.size_ms
            if watermark is not None and end <= watermark:
                continue
            window = Window(key, start, end)
            slot = self._open.get(window)
            if slot is None:
                slot = self._open[window] = _Open(self._new_state(), offset)
                heapq.heappush(self._ends, (end, key, start, window))
            slot.events += 1
            states.append(slot.state)
            added.append(window)
        return states or None

    def advance(self, event_ms: int, now_ms: int | None = None) -> list[Closed[S]]:
        """Move the watermark to ``event_ms - grace`` if that is later, after a record with
        that event time; returns the windows that closed, by end, then key, then start.
        ``now_ms`` (wall clock) starts the record's quiet period for ``tick``."""
        candidate = event_ms - self.spec.grace_ms
        if self.watermark_ms is None or candidate > self.watermark_ms:
            self.watermark_ms = candidate
        if now_ms is not None:
            self._quiet_since_ms = now_ms
            self._watermark_then = self.watermark_ms
        return self._close()

    def tick(self, now_ms: int) -> list[Closed[S]]:
        """Wall-clock progress: once the partition has been quiet for ``idle_ms``, the
        watermark moves on as the clock does; returns the windows that closed."""
        since, then = self._quiet_since_ms, self._watermark_then
        if since is None:
            self._quiet_since_ms = now_ms  # restored state: quiet from now
            return []
        if then is None:
            return []
        moved = then + (now_ms - since) - self.spec.idle_ms
        if self.watermark_ms is None or moved > self.watermark_ms:
            self.watermark_ms = moved
            return self._close()
        return []

    def _close(self) -> list[Closed[S]]:
        watermark = self.watermark_ms
        if watermark is None:
            return []
        closed: list[Closed[S]] = []
        ends = self._ends
        while ends and ends[0][0] <= watermark:
            window = heapq.heappop(ends)[3]
            slot = self._open.pop(window)
            closed.append(Closed(window, slot.state, slot.events))
        return closed

    def mark(self) -> Mark:
        """The rebuild point: the oldest offset an open window holds, and the watermark."""
        start = min((slot.first_offset for slot in self._open.values()), default=None)
        return Mark(start, self.watermark_ms)

    def __iter__(self) -> Iterator[Window]:
        return iter(sorted(self._open))
