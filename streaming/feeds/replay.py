"""Replay recorded exchange traffic through the very same connector code as the live feed.

Frames go through ``Connector.parse`` (ccxt's own parsers) exactly as live frames do, so a
replay produces what the live feed would have produced, deterministically: message ids
derive from the recording. Pacing follows the recording's own clock (``speed`` 1 = as
recorded, N = N times faster, 0 = as fast as possible).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from lucent_platform.connectors import Connector, RawFrame, connector_for
from lucent_platform.envelope import Envelope

log = logging.getLogger(__name__)

EnvelopeSink = Callable[[Envelope[Any]], None]


@dataclass
class ReplayStats:
    frames: int = 0
    envelopes: int = 0
    rejected: int = 0
    control: int = 0
    skipped: int = 0
    resnapshots: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)


class Replayer:
    """Feeds recorded frames to one connector per exchange and hands envelopes to a sink."""

    def __init__(self, sink: EnvelopeSink, *, speed: float = 0.0) -> None:
        self.sink = sink
        self.speed = speed
        self.connectors: dict[str, Connector] = {}
        self.stats = ReplayStats()
        self._clock: tuple[int, float] | None = None  # (first recorded ns, wall start)

    def connector(self, exchange: str) -> Connector:
        if exchange not in self.connectors:
            self.connectors[exchange] = connector_for(exchange)
        return self.connectors[exchange]

    def run(
        self, frames: Iterable[RawFrame], stop: Callable[[], bool] = lambda: False
    ) -> ReplayStats:
        for frame in frames:
            if stop():
                break
            self._pace(frame.received_ns)
            self.feed(frame)
        return self.stats

    def feed(self, frame: RawFrame) -> None:
        result = self.connector(frame.exchange).parse(frame)
        self.stats.frames += 1
        if result.rejected:
            self.stats.rejected += 1
            self.stats.reasons[result.rejected.split(":")[0]] += 1
            log.debug("rejected %s frame: %s", frame.exchange, result.rejected)
        if result.control:
            self.stats.control += 1
        if result.skipped:
            self.stats.skipped += 1
        self.stats.resnapshots += len(result.resnapshot)
        for envelope in result.envelopes:
            self.stats.envelopes += 1
            self.stats.by_kind[envelope.header.message_type] += 1
            self.sink(envelope)

    def _pace(self, received_ns: int) -> None:
        if self.speed <= 0 or received_ns <= 0:
            return
        if self._clock is None:
            self._clock = (received_ns, time.monotonic())
            return
        first_ns, wall_start = self._clock
        due = wall_start + (received_ns - first_ns) / 1e9 / self.speed
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
