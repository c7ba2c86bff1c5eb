"""Scripted price updates for the arbitrage detector's tests, and the simulator's as a stream."""

from __future__ import annotations

from collections.abc import Sequence

from lucent_platform.envelope import Envelope, decode_as, encode, message_id_for, new_envelope
from lucent_platform.messages import ArbitrageOpportunity, Liquidity, PriceUpdate
from lucent_platform.processing.pipeline import InRecord, Output
from lucent_platform.signals.apps.arbitrage import ArbitrageConfig, ArbitrageDetector
from lucent_platform.simulator import MarketSimulator, SimulatorConfig
from lucent_platform.simulator.config import AnomalyRates

T0 = 1_756_809_000_000
IN = "prices.in"
OUT = "arbitrage.out"


def quote(
    exchange: str, bid: float, ask: float, t: int, *, pair: str = "ETH-USDT",
    size: float | None = 10.0, n: int | None = None,
) -> bytes:  # fmt: skip
    """A normalized price update (event time ``T0 + t``), id from its content and ``n``."""
    update = PriceUpdate(
        exchange=exchange, pair=pair, price=(bid + ask) / 2, bid=bid, ask=ask,
        spread=ask - bid, liquidity=None if size is None else Liquidity(size, size),
    )  # fmt: skip
    mid = message_id_for("test-quote", exchange, pair, bid, ask, t, n)
    return encode(new_envelope(update, source=f"{exchange}-test", event_time_ms=T0 + t,
                               received_time_ms=T0 + t, message_id=mid))  # fmt: skip


def records(values: Sequence[bytes], partition: int = 0, topic: str = IN) -> list[InRecord]:
    return [InRecord(topic, partition, i, 0, b"k", v) for i, v in enumerate(values)]


def detector(config: ArbitrageConfig | None = None, out: str = OUT) -> ArbitrageDetector:
    return ArbitrageDetector(config or ArbitrageConfig(), clock_ms=lambda: T0 + 5.0,
                             out_topic=out, dead_topic="dead")  # fmt: skip


def opportunities(outputs: Sequence[Output]) -> list[Envelope[ArbitrageOpportunity]]:
    return [decode_as(o.value, ArbitrageOpportunity) for o in outputs if o.topic != "dead"]


def run(values: Sequence[bytes], config: ArbitrageConfig | None = None) -> list[Output]:
    app = detector(config)
    app.assigned([(IN, 0)])
    return list(app.process(records(values)).outputs)


def simulated_prices(count: int, seed: int = 11) -> list[bytes]:
    """``count`` simulator price updates (gaps injected often), as the processor outputs them
    (v2 price updates with liquidity), in event-time order of generation."""
    config = SimulatorConfig(seed=seed, anomalies=AnomalyRates(arbitrage_gap=30.0))
    start = T0
    sim = MarketSimulator(config, start_ms=start)
    out: list[bytes] = []
    now = start
    while len(out) < count:
        now += 50
        for m in sim.step(now):
            if m.topic.startswith("market.prices."):
                try:
                    decode_as(m.value, PriceUpdate)
                except ValueError:
                    continue  # the simulator's malformed messages
                out.append(m.value)
    return out[:count]
