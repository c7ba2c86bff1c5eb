"""Puts the injected anomalies into a running simulation and records each one.

Market events (arbitrage gaps, APY spikes) change the market's state for a while and force an
immediate quote or yield update when they open and close, so detectors see them at once.
Message-level anomalies (outliers, late, duplicates, malformed) are one message each.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import msgspec

from lucent_platform.envelope import encode, new_envelope
from lucent_platform.messages import MessageData
from lucent_platform.simulator.anomalies import (
    MALFORMED_VARIANTS,
    OUTLIER_VARIANTS,
    Anomaly,
    Injection,
    malformed_frame,
    outlier_update,
)
from lucent_platform.simulator.events import (
    DELTA,
    DUPLICATE,
    LATE,
    MALFORMED,
    OUTLIER,
    TICKER,
    YIELD,
    Event,
    event,
)
from lucent_platform.simulator.output import SimulatedMessage

if TYPE_CHECKING:
    from lucent_platform.simulator.stream import MarketSimulator

_MESSAGE_LEVEL: tuple[tuple[Anomaly, int], ...] = (
    ("outlier", OUTLIER),
    ("duplicate", DUPLICATE),
    ("late", LATE),
    ("malformed", MALFORMED),
)


class AnomalyInjector:
    """The anomalies of one ``MarketSimulator``."""

    def __init__(self, simulator: MarketSimulator) -> None:
        self.sim = simulator
        self.rates = simulator.config.anomalies

    def events_for_tick(self, start: int, counts: dict[Anomaly, int]) -> list[Event]:
        """Close expired gaps and spikes, open new ones, and place this tick's message-level
        anomalies; returns the events to publish, all within ``[start, start + tick)``."""
        sim, events = self.sim, []
        for venue in sim.venues:
            if venue.gap_until_ms is not None and venue.gap_until_ms <= start:
                venue.gap_until_ms = None
                sim.model.set_gap(venue.index, 0.0)
                events += [event(start, TICKER, venue.index), event(start, DELTA, venue.index)]
        for index, pool in enumerate(sim.pools):
            if pool.spike_until_ms is not None and pool.spike_until_ms <= start:
                pool.spike_apy = pool.spike_until_ms = None
                events.append(event(start, YIELD, index))
        if counts["arbitrage_gap"]:
            events += self._open_gap(start)
        if counts["apy_spike"] and sim.pools:
            events += self._open_spike(start)
        tick_ms = sim.config.tick_ms
        for kind, action in _MESSAGE_LEVEL:
            for _ in range(counts[kind]):
                time_ms = start + int(sim.draws.uniform() * tick_ms)
                events.append(event(time_ms, action, sim.draws.index(len(sim.venues))))
        return events

    def _open_gap(self, start: int) -> list[Event]:
        sim, draws = self.sim, self.sim.draws
        venue = sim.venues[draws.index(len(sim.venues))]
        if any(v.gap_until_ms is not None for v in sim.venues if v.pair == venue.pair):
            return []  # one venue out of line per pair at a time
        gap = draws.between(*self.rates.gap_pct) / 100 * (1 if draws.uniform() < 0.5 else -1)
        end = start + _whole_ticks(draws.between(*self.rates.gap_duration_ms), sim.config.tick_ms)
        venue.gap_until_ms = end
        sim.model.set_gap(venue.index, gap)
        self._record("arbitrage_gap", start, end, venue.prices_topic, f"{gap:+.3%}")
        sim.stats["events.arbitrage_gap"] += 1
        return [event(start, TICKER, venue.index), event(start, DELTA, venue.index)]

    def _open_spike(self, start: int) -> list[Event]:
        sim, draws = self.sim, self.sim.draws
        index = draws.index(len(sim.pools))
        pool = sim.pools[index]
        if pool.spike_apy is not None:
            return []
        pool.spike_apy = draws.between(*self.rates.spike_apy)
        duration = draws.between(*self.rates.spike_duration_ms)
        end = pool.spike_until_ms = start + _whole_ticks(duration, sim.config.tick_ms)
        self._record("apy_spike", start, end, pool.topic, f"APY {pool.spike_apy:.2f} %")
        sim.stats["events.apy_spike"] += 1
        return [event(start, YIELD, index)]

    # --- message-level anomalies: event handlers (target venue index, time) -----------------

    def outlier(self, index: int, time_ms: int) -> None:
        sim = self.sim
        venue = sim.venues[index]
        variant = OUTLIER_VARIANTS[sim.draws.index(len(OUTLIER_VARIANTS))]
        data = outlier_update(venue.price_update(sim.model, sim.draws), variant)
        sim.publish(venue, venue.prices_topic, data, time_ms, "outlier")
        self._record("outlier", time_ms, time_ms + 1, venue.prices_topic, variant)

    def late(self, index: int, time_ms: int) -> None:
        sim = self.sim
        venue = sim.venues[index]
        late_by = int(sim.draws.between(*self.rates.late_by_ms))
        data: MessageData
        if sim.draws.uniform() < 0.5:
            topic, data = venue.prices_topic, venue.price_update(sim.model, sim.draws)
        else:
            topic, data = venue.trades_topic, venue.trade(sim.model, sim.draws)
        event_ms = time_ms - late_by
        sim.publish(venue, topic, data, time_ms, "late", event_time_ms=event_ms)
        self._record("late", event_ms, event_ms + 1, topic, f"{late_by} ms late")

    def duplicate(self, _index: int, time_ms: int) -> None:
        sim = self.sim
        if not sim.recent:
            return
        original, kind = sim.recent[sim.draws.index(len(sim.recent))]
        # Re-delivered after the original arrived, whenever that is.
        received = max(time_ms + int(sim.draws.exponential() * 20), original.received_time_ms + 1)
        copy = msgspec.structs.replace(original, injected="duplicate", received_time_ms=received)
        sim.queue(copy, kind)
        self._record("duplicate", time_ms, time_ms + 1, original.topic, f"a {kind} again")

    def malformed(self, index: int, time_ms: int) -> None:
        sim = self.sim
        venue = sim.venues[index]
        valid = new_envelope(
            venue.price_update(sim.model, sim.draws),
            source=venue.source,
            event_time_ms=time_ms,
            received_time_ms=sim.arrival(venue, time_ms),
            message_id=venue.next_message_id(),
        )
        variant = MALFORMED_VARIANTS[sim.draws.index(len(MALFORMED_VARIANTS))]
        frame = malformed_frame(encode(valid), variant, sim.draws)
        topic = (venue.prices_topic, venue.trades_topic, venue.book_topic)[sim.draws.index(3)]
        received = valid.header.received_time_ms
        message = SimulatedMessage(topic, venue.key, frame, time_ms, "malformed", received)
        sim.queue(message, "malformed")
        self._record("malformed", time_ms, time_ms + 1, topic, variant)

    def _record(self, kind: Anomaly, start: int, end: int, topic: str, detail: str) -> None:
        self.sim.injections.append(Injection(kind, start, end, topic, detail))
        self.sim.injected_total += 1


def _whole_ticks(duration_ms: float, tick_ms: int) -> int:
    """``duration_ms`` rounded up to whole ticks (market events start and end on ticks)."""
    return max(1, math.ceil(duration_ms / tick_ms)) * tick_ms
