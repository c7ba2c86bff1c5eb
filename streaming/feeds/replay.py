"""Replay recorded exchange and chain traffic through the very same connector code as live.

Exchange frames go through ``Connector.parse`` (ccxt's own parsers), chain items through
``ChainConnector.parse`` (one per chain), exactly as live ones do, so a replay produces what the
live feed would have produced, deterministically: message ids derive from the recording.
Pacing follows the recording's own clock (``speed`` 1 = as recorded, N = N times faster, 0 = as
fast as possible); a chain recording spans block times, so replay it with ``--fast``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from lucent_platform.chains.connector import ChainConnector, ChainFrame
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
    unknown_pools: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)


class Replayer:
    """Feeds recorded frames to one connector per exchange and hands envelopes to a sink."""

    def __init__(self, sink: EnvelopeSink, *, speed: float = 0.0) -> None:
        self.sink = sink
        self.speed = speed
        self.connectors: dict[str, Connector] = {}
        self.chains: dict[str, ChainConnector] = {}
        self.stats = ReplayStats()
        self._clock: tuple[int, float] | None = None  # (first recorded ns, wall start)

    def connector(self, exchange: str) -> Connector:
        if exchange not in self.connectors:
            self.connectors[exchange] = connector_for(exchange)
        return self.connectors[exchange]

    def chain(self, name: str) -> ChainConnector:
        """The connector of one chain (``ValueError`` for a chain we do not name)."""
        if name not in self.chains:
            self.chains[name] = ChainConnector(name)
        return self.chains[name]

    def run(
        self, frames: Iterable[RawFrame | ChainFrame], stop: Callable[[], bool] = lambda: False
    ) -> ReplayStats:
        for frame in frames:
            if stop():
                break
            self._pace(frame.received_ns)
            self.feed(frame)
        return self.stats

    def feed(self, frame: RawFrame | ChainFrame) -> None:
        if isinstance(frame, ChainFrame):
            self._feed_chain(frame)
            return
        result = self.connector(frame.exchange).parse(frame)
        self._count(frame.exchange, result.rejected, result.control, result.skipped)
        self.stats.resnapshots += len(result.resnapshot)
        self._emit(result.envelopes)

    def _feed_chain(self, frame: ChainFrame) -> None:
        try:
            connector = self.chain(frame.chain)
        except ValueError:  # a chain we do not name: the line is rejected, not fatal
            self._count(frame.chain, f"unknown chain: {frame.chain[:40]!r}", False, None)
            return
        result = connector.parse(frame)
        self._count(frame.chain, result.rejected, result.control, result.skipped)
        self.stats.unknown_pools += len(result.unknown_pools)
        self._emit(result.envelopes)

    def _count(self, source: str, rejected: str | None, control: bool, skipped: str | None) -> None:
        self.stats.frames += 1
        if rejected:
            self.stats.rejected += 1
            self.stats.reasons[rejected.split(":")[0]] += 1
            log.debug("rejected %s frame: %s", source, rejected)
        if control:
            self.stats.control += 1
        if skipped:
            self.stats.skipped += 1

    def _emit(self, envelopes: list[Envelope[Any]]) -> None:
        for envelope in envelopes:
            self.stats.envelopes += 1
            self.stats.by_kind[envelope.header.message_type] += 1
            self.sink(envelope)

    def _pace(self, received_ns: int) -> None:
        if self.speed <= 0 or not isinstance(received_ns, int) or received_ns <= 0:
            return
        if self._clock is None:
            self._clock = (received_ns, time.monotonic())
            return
        first_ns, wall_start = self._clock
        due = wall_start + (received_ns - first_ns) / 1e9 / self.speed
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
