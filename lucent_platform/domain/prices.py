"""Live prices for valuing a portfolio: the latest quote of each asset on each venue.

Fed with the ``price_update`` envelopes of ``market.prices.all`` (the domain worker follows
that topic). A pair quoted in a stablecoin (``BTC-USDT``, ``ETH-USDC``) prices its base asset
in USD; stablecoins themselves are worth 1 USD. An asset's price is the median of its
venues' latest quotes younger than ``max_age_ms``, so one venue's stale or odd quote does not
move the valuation.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from lucent_platform.domain.events import SourceRecord
from lucent_platform.envelope import EnvelopeError, decode_as
from lucent_platform.messages import PriceUpdate


@dataclass(frozen=True, slots=True)
class Quote:
    price: float
    at_ms: int  # the update's event time
    message_id: str
    source: SourceRecord


@dataclass(frozen=True, slots=True)
class Valuation:
    """USD price per asset, and the newest quote among those used (the rebalance's cause)."""

    prices: dict[str, float]
    newest: Quote | None


class PriceBoard:
    def __init__(self, stablecoins: Iterable[str]) -> None:
        self.stable = frozenset(s.upper() for s in stablecoins)
        self._quotes: dict[str, dict[str, Quote]] = {}  # asset → venue → latest quote

    def update(self, exchange: str, pair: str, quote: Quote) -> None:
        base, _, quoted_in = pair.upper().partition("-")
        if quoted_in not in self.stable or base in self.stable:
            return
        venues = self._quotes.setdefault(base, {})
        venue = f"{exchange}:{quoted_in}"
        current = venues.get(venue)
        if current is None or quote.at_ms >= current.at_ms:
            venues[venue] = quote

    def update_from(self, value: bytes | None, source: SourceRecord) -> bool:
        """A ``market.prices.all`` record; False (ignored) if it is no price update."""
        if value is None:
            return False
        try:
            envelope = decode_as(value, PriceUpdate)
        except EnvelopeError:
            return False
        data, header = envelope.data, envelope.header
        quote = Quote(data.price, header.event_time_ms, header.message_id, source)
        self.update(data.exchange, data.pair, quote)
        return True

    def valuation(self, assets: Iterable[str], now_ms: int, max_age_ms: int) -> Valuation | None:
        """Prices of every asset in ``assets``; None while one of them has no fresh quote."""
        prices: dict[str, float] = {}
        newest: Quote | None = None
        for asset in assets:
            if asset.upper() in self.stable:
                prices[asset] = 1.0
                continue
            fresh = [
                q
                for q in self._quotes.get(asset.upper(), {}).values()
                if now_ms - q.at_ms <= max_age_ms and q.price > 0
            ]
            if not fresh:
                return None
            prices[asset] = statistics.median(q.price for q in fresh)
            latest = max(fresh, key=lambda q: q.at_ms)
            if newest is None or latest.at_ms > newest.at_ms:
                newest = latest
        return Valuation(prices, newest)
