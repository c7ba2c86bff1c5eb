"""Envelopes for the analytics tests: recorded real traffic and the simulator, both run
through the connectors and the real ``MarketProcessor``, so rows come from normalized output."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import cache
from typing import Any

from lucent_platform import topics
from lucent_platform.connectors import RawFrame, connector_for
from lucent_platform.envelope import Envelope, decode, encode
from lucent_platform.processing import InRecord, MarketProcessor, ProcessorConfig, deadletter
from lucent_platform.processing.deadletter import DeadLetter
from lucent_platform.recordings import read_recording
from lucent_platform.simulator import MarketSimulator, SimulatorConfig
from tests.market_fixtures import MARKET, binance_book_session

T0 = 1_756_809_000_000
TRADE_FILES = ("binance/ws_aggTrade.jsonl", "coinbase/ws_match.jsonl", "kraken/ws_trade.jsonl")
TICKER_FILES = ("coinbase/ws_ticker.jsonl", "kraken/ws_ticker.jsonl")
BOOK_FILES = ("coinbase/ws_snapshot.jsonl",)


def process(raw: Iterable[Envelope[Any]]) -> tuple[list[Envelope[Any]], list[DeadLetter]]:
    """Raw envelopes through one processor (clock = each record's receive time): the
    normalized envelopes and the dead letters."""
    records = [
        InRecord(topics.raw_topic(e.header.message_type, e.data), 0, i,
                 e.header.received_time_ms, None, encode(e))
        for i, e in enumerate(raw)
    ]  # fmt: skip
    clock = [0]
    processor = MarketProcessor(ProcessorConfig(), clock_ms=lambda: clock[0])
    normalized, dead = [], []
    for record in records:
        clock[0] = record.timestamp_ms
        for out in processor.process([record]).outputs:
            if out.topic == topics.DEADLETTER:
                dead.append(deadletter.decode(out.value))
            else:
                normalized.append(decode(out.value))
    return normalized, dead


def _parsed(frames: Iterable[RawFrame]) -> list[Envelope[Any]]:
    connectors: dict[str, Any] = {}
    found = []
    for frame in frames:
        connector = connectors.get(frame.exchange) or connectors.setdefault(
            frame.exchange, connector_for(frame.exchange)
        )
        found += connector.parse(frame).envelopes
    return found


@cache
def recorded_trades() -> tuple[Envelope[Any], ...]:
    """Every recorded Binance aggTrade, Coinbase match and Kraken trade, normalized."""
    frames = [f for name in TRADE_FILES for f in read_recording(MARKET / name)]
    normalized, dead = process(_parsed(frames))
    assert not dead and {e.header.message_type for e in normalized} == {"trade"}
    return tuple(normalized)


@cache
def recorded_market() -> tuple[Envelope[Any], ...]:
    """Recorded tickers and book snapshots (Coinbase, Kraken, Binance REST), normalized."""
    frames = [f for name in TICKER_FILES + BOOK_FILES for f in read_recording(MARKET / name)]
    normalized, _ = process(_parsed(frames))
    books, _ = process(_parsed(binance_book_session()))
    return tuple(normalized + books)


@cache
def simulated(seconds: int = 60) -> tuple[tuple[Envelope[Any], ...], tuple[DeadLetter, ...]]:
    """A simulated minute of every venue, pair and pool through the processor (enriched
    prices, yields) with its injected anomalies dead-lettered."""
    sim = MarketSimulator(SimulatorConfig(seed=7), start_ms=T0)
    messages = list(sim.run(seconds * 1000, 1000))
    clock = [T0]
    processor = MarketProcessor(ProcessorConfig(), clock_ms=lambda: clock[0])
    normalized, dead = [], []
    offsets: Counter[str] = Counter()
    for message in messages:
        clock[0] = message.received_time_ms + 3
        record = InRecord(message.topic, 0, offsets[message.topic], clock[0], message.key,
                          message.value)  # fmt: skip
        offsets[message.topic] += 1
        for out in processor.process([record]).outputs:
            if out.topic == topics.DEADLETTER:
                dead.append(deadletter.decode(out.value))
            else:
                normalized.append(decode(out.value))
    return tuple(normalized), tuple(dead)
