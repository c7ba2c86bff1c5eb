"""A tiny windowed app for the signal-app tests: count and mean of ``v`` per key per window.

Input values are JSON ``{"key": "k1", "t": <event ms>, "v": <float>}``; each closed window
becomes one JSON output whose ``id`` is the window's deterministic message id.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from lucent_platform.processing.pipeline import InRecord, Output
from lucent_platform.signals import Closed, Event, FirstLast, Stats, WindowedApp, WindowSpec


class CountMeanState:
    __slots__ = ("ends", "stats")

    def __init__(self) -> None:
        self.stats = Stats()
        self.ends: FirstLast[float] = FirstLast()


class CountMean(WindowedApp[CountMeanState, float]):
    def __init__(
        self, out: str, spec: WindowSpec, *, clock_ms: Callable[[], int], late_topic: str
    ) -> None:
        super().__init__("count-mean", spec, clock_ms=clock_ms, late_topic=late_topic)
        self.out = out

    def read(self, record: InRecord) -> Event[float] | None:
        try:
            data = json.loads(record.value or b"")
            return Event(str(data["key"]), int(data["t"]), float(data["v"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a test event: {exc}") from None

    def new_state(self) -> CountMeanState:
        return CountMeanState()

    def update(self, state: CountMeanState, event: Event[float], record: InRecord) -> None:
        state.stats.add(event.value)
        state.ends.add(event.value, event.event_ms, record.offset)

    def emit(self, closed: Closed[CountMeanState]) -> Sequence[Output]:
        w, s = closed.window, closed.state.stats
        body = {
            "id": w.message_id(self.name), "key": w.key, "start": w.start_ms, "end": w.end_ms,
            "count": s.count, "mean": round(s.mean, 9), "min": s.min, "max": s.max,
            "first": closed.state.ends.first, "last": closed.state.ends.last,
        }  # fmt: skip
        return [Output(self.out, w.key.encode(), json.dumps(body, sort_keys=True).encode())]


def event(key: str, t: int, v: float) -> bytes:
    return json.dumps({"key": key, "t": t, "v": v}).encode()
