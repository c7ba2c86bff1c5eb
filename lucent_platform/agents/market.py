"""The live market state agents query: each venue's latest normalized price update per pair.

Fed with the envelopes of ``market.prices.all`` in any order: a venue's update older (by event
time) than the one held is ignored, so a replay or a partition read twice leaves the state as
it was. What the processor computed into an update (``data.enrichment``: moving averages,
volatility, cross-venue spread, book depth) is kept as it came, never recomputed, so an agent
sees the figures every other consumer of the stream sees.

    market = LiveMarket()
    market.add(envelope)              # a normalized price_update; other kinds are ignored
    market.quotes("BTC-USDT")         # {"binance": Quote(...), "kraken": Quote(...)}
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lucent_platform.envelope import Envelope
from lucent_platform.messages import PriceEnrichment, PriceUpdate


@dataclass(frozen=True, slots=True)
class Quote:
    """One venue's latest update of a pair; times are UTC epoch ms."""

    exchange: str
    price: float
    bid: float | None
    ask: float | None
    bid_size: float | None
    ask_size: float | None
    event_time_ms: int
    received_time_ms: int
    message_id: str
    enrichment: PriceEnrichment | None


class LiveMarket:
    """Latest quote per pair and venue, and the newest event time seen per pair."""

    def __init__(self) -> None:
        self._quotes: dict[str, dict[str, Quote]] = {}
        self._clock: dict[str, int] = {}
        self.updates = 0

    def add(self, envelope: Envelope[Any]) -> bool:
        """Take one envelope; whether it changed the state."""
        data = envelope.data
        if not isinstance(data, PriceUpdate):
            return False
        header = envelope.header
        venues = self._quotes.setdefault(data.pair, {})
        held = venues.get(data.exchange)
        if held is not None and held.event_time_ms > header.event_time_ms:
            return False
        liquidity = data.liquidity
        venues[data.exchange] = Quote(
            data.exchange, data.price, data.bid, data.ask,
            None if liquidity is None else liquidity.bid_size,
            None if liquidity is None else liquidity.ask_size,
            header.event_time_ms, header.received_time_ms, header.message_id, data.enrichment,
        )  # fmt: skip
        if header.event_time_ms > self._clock.get(data.pair, header.event_time_ms - 1):
            self._clock[data.pair] = header.event_time_ms
        self.updates += 1
        return True

    def add_all(self, envelopes: Iterable[Envelope[Any]]) -> int:
        return sum(self.add(envelope) for envelope in envelopes)

    def pairs(self) -> list[str]:
        return sorted(self._quotes)

    def quotes(self, pair: str) -> dict[str, Quote]:
        """The pair's venues and their latest quotes (empty for a pair never seen)."""
        return dict(self._quotes.get(pair, {}))

    def clock_ms(self, pair: str) -> int | None:
        """The newest event time of the pair across venues (its event-time clock)."""
        return self._clock.get(pair)
