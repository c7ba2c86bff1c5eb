"""Answers to agents' requests on ``agents.query.{what}.{pair}``, from the live market state.

``answer(market, subject, now_ms)`` is the whole service: the reply's JSON bytes for any
subject, ``{"error": "..."}`` for a subject it cannot answer (never an exception). Two
queries (subjects from ``lucent_platform.subjects``)::

    agents.query.price.BTC-USDT  →
    {"pair": "BTC-USDT", "asOfMs": 1795132861000, "lastEventMs": 1795132860950,
     "bestBid": {"exchange": "kraken", "price": 60018.2, "size": 1.2},
     "bestAsk": {"exchange": "coinbase", "price": 60021.0, "size": 0.8},
     "venues": [{"exchange": "binance", "price": 60019.1, "bid": 60019.0, "ask": 60019.2,
                 "bidSize": 2.1, "askSize": 1.7, "eventTimeMs": 1795132860950, "ageMs": 50,
                 "stale": false, "messageId": "0f8e…"}, …]}

    agents.query.features.BTC-USDT  →
    {"pair": "BTC-USDT", "asOfMs": …, "venues": [{"exchange": "binance",
     "eventTimeMs": …, "messageId": "0f8e…", "price": 60019.1,
     "movingAverages": [{"span": 20, "sma": 60012.4, "ema": 60013.1}], "volatility": 8.4e-05,
     "volatilityWindow": 50, "crossVenue": {…}, "depth": {…}, "stale": false}, …]}

The features are the processor's enrichment of each venue's latest update, as it computed them.
A venue is ``stale`` when its update is more than ``stale_ms`` behind the pair's newest update
(event time, so a replay answers as live data would); best bid and ask come from the venues
that are not stale. ``ageMs`` is ``asOfMs`` (the service's clock) minus the event time.
Pairs are matched case-insensitively (``btc-usdt`` is ``BTC-USDT``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from lucent_platform import subjects
from lucent_platform.agents.market import LiveMarket, Quote
from lucent_platform.messages import BookDepth, CrossVenueSpread, MovingAverage

PREFIX = "agents.query."
QUERIES = ("price", "features")
DEFAULT_STALE_MS = 30_000


class _Answer(msgspec.Struct, rename="camel", omit_defaults=True):
    pass


class BestQuote(_Answer):
    exchange: str
    price: float
    size: float | None = None


class VenuePrice(_Answer):
    exchange: str
    price: float
    event_time_ms: int
    age_ms: int
    stale: bool
    message_id: str
    bid: float | None = None
    ask: float | None = None
    bid_size: float | None = None
    ask_size: float | None = None


class PriceAnswer(_Answer):
    pair: str
    as_of_ms: int
    last_event_ms: int
    venues: list[VenuePrice]
    best_bid: BestQuote | None = None
    best_ask: BestQuote | None = None


class VenueFeatures(_Answer):
    exchange: str
    event_time_ms: int
    message_id: str
    price: float
    stale: bool
    moving_averages: list[MovingAverage] | None = None
    volatility: float | None = None
    volatility_window: int | None = None
    cross_venue: CrossVenueSpread | None = None
    depth: BookDepth | None = None


class FeaturesAnswer(_Answer):
    pair: str
    as_of_ms: int
    venues: list[VenueFeatures]


class ErrorAnswer(msgspec.Struct):
    error: str


_encode = msgspec.json.Encoder().encode


def answer(
    market: LiveMarket, subject: str, now_ms: int, *, stale_ms: int = DEFAULT_STALE_MS
) -> bytes:
    """The reply to a request on ``subject``: an answer, or ``{"error": ...}``."""
    result: Any
    try:
        query, pair = _parse(subject)
        result = (price if query == "price" else features)(market, pair, now_ms, stale_ms)
    except QueryError as exc:
        result = ErrorAnswer(str(exc))
    return _encode(result)


class QueryError(ValueError):
    """A request the service cannot answer; the message is the reply's ``error``."""


def _parse(subject: str) -> tuple[str, str]:
    rest = subject.removeprefix(PREFIX)
    parts = rest.split(".")
    if rest == subject or len(parts) != 2 or parts[0] not in QUERIES or not parts[1]:
        price_, features_ = (
            make("PAIR").replace("PAIR", "{pair}")
            for make in (subjects.agents_query_price, subjects.agents_query_features)
        )
        raise QueryError(
            f"cannot answer {subject!r}: ask {price_} or {features_} "
            f"(e.g. {subjects.agents_query_price('BTC-USDT')})"
        )
    return parts[0], parts[1].upper()


def _quotes(market: LiveMarket, pair: str) -> dict[str, Quote]:
    quotes = market.quotes(pair)
    if not quotes:
        known = ", ".join(market.pairs()) or "none yet"
        raise QueryError(f"unknown pair {pair!r}: no prices seen for it (known: {known})")
    return quotes


def _stale(quote: Quote, clock_ms: int, stale_ms: int) -> bool:
    return clock_ms - quote.event_time_ms > stale_ms


def price(market: LiveMarket, pair: str, now_ms: int, stale_ms: int) -> PriceAnswer:
    """Latest price per venue and the best bid/ask among the venues that are not stale."""
    quotes = _quotes(market, pair)
    clock = market.clock_ms(pair) or 0
    venues = [_venue_price(q, now_ms, _stale(q, clock, stale_ms)) for q in _by_exchange(quotes)]
    fresh = [q for q in _by_exchange(quotes) if not _stale(q, clock, stale_ms)]
    bids = [BestQuote(q.exchange, q.bid, q.bid_size) for q in fresh if q.bid is not None]
    asks = [BestQuote(q.exchange, q.ask, q.ask_size) for q in fresh if q.ask is not None]
    return PriceAnswer(
        pair=pair,
        as_of_ms=now_ms,
        last_event_ms=clock,
        venues=venues,
        best_bid=max(bids, key=lambda b: b.price, default=None),
        best_ask=min(asks, key=lambda a: a.price, default=None),
    )


def _by_exchange(quotes: dict[str, Quote]) -> list[Quote]:
    return sorted(quotes.values(), key=lambda q: q.exchange)


def _venue_price(q: Quote, now_ms: int, stale: bool) -> VenuePrice:
    return VenuePrice(
        exchange=q.exchange,
        price=q.price,
        event_time_ms=q.event_time_ms,
        age_ms=now_ms - q.event_time_ms,
        stale=stale,
        message_id=q.message_id,
        bid=q.bid,
        ask=q.ask,
        bid_size=q.bid_size,
        ask_size=q.ask_size,
    )


def features(market: LiveMarket, pair: str, now_ms: int, stale_ms: int) -> FeaturesAnswer:
    """Each venue's enrichment figures from its latest enriched update."""
    quotes = _quotes(market, pair)
    clock = market.clock_ms(pair) or 0
    venues = [
        VenueFeatures(
            exchange=q.exchange,
            event_time_ms=q.event_time_ms,
            message_id=q.message_id,
            price=q.price,
            stale=_stale(q, clock, stale_ms),
            moving_averages=q.enrichment.moving_averages,
            volatility=q.enrichment.volatility,
            volatility_window=q.enrichment.volatility_window,
            cross_venue=q.enrichment.cross_venue,
            depth=q.enrichment.depth,
        )
        for q in _by_exchange(quotes)
        if q.enrichment is not None
    ]
    if not venues:
        raise QueryError(
            f"no enriched price updates for {pair!r} yet (the processor adds the figures; "
            "raw updates carry none)"
        )
    return FeaturesAnswer(pair, now_ms, venues)
