"""The yield opportunity detector (issue #6 item 2): pools whose APY stays above a threshold.

Every ``yield_rate`` of ``market.yields.all`` is windowed per pool (key
``protocol/chain/pool``) in event-time windows (5 minutes, tumbling, by default). Rates above
``min_apy`` are the evidence; a window is **viable** when

- **persistence**: at least ``min_samples`` rates above the threshold, and at least
  ``min_fraction`` of all the pool's rates in the window (0: no fraction required);
- **stability**: the sample standard deviation of those APYs is at most ``max_apy_stdev``
  percentage points (a pool flickering between 6 % and 14 % is no opportunity);
- **TVL**: the pool's latest TVL in the window (by event time) is at least ``min_tvl_usd``
  (unknown TVL fails a positive minimum).

**Two emissions per viable window**, both ``YieldOpportunity`` envelopes on
``yield.opportunities``: ``phase: "opening"`` the moment the evidence first suffices (the rate
that completes it is consumed → the opportunity is produced, within the batch: milliseconds),
with the figures so far; and ``phase: "final"`` when the window closes, with the whole
window's figures (if it is still viable then). A 5-minute window closing at its end could
not show an APY spike "within one second"; persistence cannot be judged from one rate
either, so "within one second" holds from the rate that makes the evidence sufficient. Ids are
deterministic per window and phase (``opening``/``final``), so a restart's repeats
de-duplicate and a consumer can tell the opening from the summary of the same window.
``header.correlationId`` is the message id of the rate that triggered the output (the
completing rate for an opening, the window's last rate for a final).

With the defaults (5 %, 3 rates, stdev ≤ 1.5 points, TVL ≥ $1M) the simulator's APY spikes
(one pool near 6–14 % for 2–5 minutes, ±0.15 noise, a rate every ~5 s) become an opening about
10 s after the spike began; a single rate above 5 % (a one-tick outlier) never does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lucent_platform.envelope import Envelope, decode_as, encode, message_id_for, new_envelope
from lucent_platform.json_config import from_json
from lucent_platform.messages import YieldOpportunity, YieldRate
from lucent_platform.processing.pipeline import InRecord, Output
from lucent_platform.signals.aggregates import FirstLast, Stats
from lucent_platform.signals.app import Event, WindowedApp
from lucent_platform.signals.windows import Closed, Window, WindowSpec
from lucent_platform.topics import DEADLETTER, YIELD_OPPORTUNITIES

APP = "yield-detector"
SOURCE = "lucent-yield"


@dataclass(frozen=True)
class YieldConfig:
    """``LUCENT_YIELD_CONFIG``: thresholds (APY in percent, TVL in USD) and windows (ms)."""

    min_apy: float = 5.0
    min_tvl_usd: float = 1_000_000.0
    max_apy_stdev: float = 1.5
    min_samples: int = 3
    min_fraction: float = 0.0
    window_ms: int = 300_000
    hop_ms: int = 0  # 0: tumbling; less than the window: hopping
    grace_ms: int = 10_000
    idle_ms: int = 1_000
    opening: bool = True  # emit "opening" as soon as the evidence suffices

    def __post_init__(self) -> None:
        if self.min_samples < 1:
            raise ValueError("min_samples must be at least 1")
        if not 0.0 <= self.min_fraction <= 1.0:
            raise ValueError("min_fraction must be within 0..1")
        if self.max_apy_stdev < 0 or self.min_tvl_usd < 0:
            raise ValueError("max_apy_stdev and min_tvl_usd must not be negative")

    @property
    def spec(self) -> WindowSpec:
        return WindowSpec(self.window_ms, self.hop_ms, self.grace_ms, self.idle_ms)


def yield_config(overrides: Mapping[str, Any]) -> YieldConfig:
    """A ``YieldConfig`` from JSON like ``{"min_apy": 6, "window_ms": 60000}``; raises
    ``ValueError`` naming an unknown field or a bad value."""
    # The window fields must make a valid window.
    return from_json(YieldConfig, overrides, "yield", check=lambda c: c.spec)


class PoolWindow:
    """One pool's window: APY stats of the evidence, every rate counted, latest TVL and ids."""

    __slots__ = ("apy", "last", "opened", "tvl", "window_samples")

    def __init__(self) -> None:
        self.apy = Stats()
        self.window_samples = 0
        self.tvl: FirstLast[float | None] = FirstLast()
        self.last: FirstLast[Envelope[YieldRate]] = FirstLast()
        self.opened = False


class YieldDetector(WindowedApp[PoolWindow, Envelope[YieldRate]]):
    """``lucent worker yield``'s processor: rates in, ``YieldOpportunity`` envelopes out."""

    def __init__(
        self,
        config: YieldConfig,
        *,
        clock_ms: Callable[[], int],
        out_topic: str = YIELD_OPPORTUNITIES,
        late_topic: str = DEADLETTER,
    ) -> None:
        super().__init__(APP, config.spec, clock_ms=clock_ms, late_topic=late_topic)
        self.config = config
        self.out_topic = out_topic

    def read(self, record: InRecord) -> Event[Envelope[YieldRate]] | None:
        if record.value is None:
            return None
        envelope = decode_as(record.value, YieldRate)  # EnvelopeError is a ValueError
        d = envelope.data
        return Event(f"{d.protocol}/{d.chain}/{d.pool}", envelope.header.event_time_ms, envelope)

    def new_state(self) -> PoolWindow:
        return PoolWindow()

    def update(
        self, state: PoolWindow, event: Event[Envelope[YieldRate]], record: InRecord
    ) -> None:
        rate = event.value.data
        state.window_samples += 1
        if rate.tvl_usd is not None:
            state.tvl.add(rate.tvl_usd, event.event_ms, record.offset)
        state.last.add(event.value, event.event_ms, record.offset)
        if rate.apy > self.config.min_apy:
            state.apy.add(rate.apy)

    def viable(self, state: PoolWindow) -> bool:
        c, apy = self.config, state.apy
        if apy.count < c.min_samples or apy.count < c.min_fraction * state.window_samples:
            return False
        if math.sqrt(apy.variance) > c.max_apy_stdev:
            return False
        tvl = state.tvl.last
        return c.min_tvl_usd <= 0 or (tvl is not None and tvl >= c.min_tvl_usd)

    def react(
        self,
        windows: Sequence[Window],
        states: Sequence[PoolWindow],
        event: Event[Envelope[YieldRate]],
        record: InRecord,
    ) -> Sequence[Output]:
        if not self.config.opening:
            return ()
        outputs = []
        for window, state in zip(windows, states, strict=True):
            if not state.opened and self.viable(state):
                state.opened = True
                outputs.append(self._output(window, state, "opening", event.value))
        return outputs

    def emit(self, closed: Closed[PoolWindow]) -> Sequence[Output]:
        state, last = closed.state, closed.state.last.last
        if last is None or not self.viable(state):
            return ()
        return [self._output(closed.window, state, "final", last)]

    def _output(
        self, window: Window, state: PoolWindow, phase: str, cause: Envelope[YieldRate]
    ) -> Output:
        rate, apy = cause.data, state.apy
        opportunity = YieldOpportunity(
            protocol=rate.protocol,
            pool=rate.pool,
            asset=rate.asset,
            chain=rate.chain,
            window_start_ms=window.start_ms,
            window_end_ms=window.end_ms,
            max_apy=apy.max or 0.0,
            avg_apy=round(apy.mean, 6),
            samples=apy.count,
            tvl_usd=state.tvl.last,
            min_apy=apy.min,
            apy_stdev=round(math.sqrt(apy.variance), 6),
            window_samples=state.window_samples,
            phase="opening" if phase == "opening" else "final",
        )
        # event time: the window's end for a summary, the triggering rate's for an opening
        event_ms = window.end_ms if phase == "final" else cause.header.event_time_ms
        envelope = new_envelope(
            opportunity,
            source=SOURCE,
            event_time_ms=event_ms,
            received_time_ms=self._clock_ms(),
            message_id=message_id_for(APP, window.key, window.start_ms, window.end_ms, phase),
            correlation_id=cause.header.message_id,
        )
        return Output(self.out_topic, rate.protocol.encode(), encode(envelope))
