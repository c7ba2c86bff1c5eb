"""Enrichment: moving averages, volatility, cross-venue spread and book depth of price updates.

What each figure is lives in ``messages.enrichment`` (the wire format). Where its state lives:

- moving averages and volatility: one ``PriceSeries`` per venue × pair, held by the state of
  the raw prices partition that carries it (``market.prices.{exchange}.{pair}``);
- book depth: one ``Book`` per venue × pair, built from the raw order-book partition;
- cross-venue spread: the latest quote of every venue of a pair.

Books and quotes are read across partitions (a ticker of ``binance`` BTC-USDT reads the
binance BTC-USDT book and the kraken BTC-USDT quote), so they live here, per processor
instance, each tagged with the partition that built it and dropped when that partition is
revoked. Limitation: raw topics are per venue, so this state is exact only when one
processor instance consumes every raw topic of a pair (true for one instance; with several,
a ticker only sees the venues and books its instance holds). The plan, when a pair's raw
topics must spread over instances: have the subscription assign all raw topics of a pair to
one instance (a custom partition assignor over topic names), or compute cross-venue figures
downstream of ``market.prices.all``, where all venues of a pair share a key and so a
partition.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Protocol

from lucent_platform.messages import (
    BookDepth,
    CrossVenueSpread,
    OrderBookDelta,
    OrderBookSnapshot,
    PriceEnrichment,
    PriceUpdate,
)
from lucent_platform.processing.books import Book
from lucent_platform.processing.rolling import PriceSeries

Owner = tuple[str, int]


@dataclass(frozen=True)
class EnrichmentConfig:
    """What to compute: ``spans`` of the moving averages (20 and 50 updates),
    ``volatility_window`` log returns (50), how old another venue's quote may be, by event
    time, to count as current (``quote_ttl_ms``, 10 s: the arbitrage window of the design
    record), and the band around the mid for book depth (``depth_band_bps``, 10 bps)."""

    spans: tuple[int, ...] = (20, 50)
    volatility_window: int = 50
    quote_ttl_ms: int = 10_000
    depth_band_bps: float = 10.0

    def __post_init__(self) -> None:
        if any(span < 1 for span in self.spans) or self.volatility_window < 2:
            raise ValueError("spans must be positive and volatility_window at least 2")


class Quote:
    """A venue's latest quote for a pair."""

    __slots__ = ("ask", "bid", "event_ms", "owner")

    def __init__(self, owner: Owner, bid: float, ask: float, event_ms: int) -> None:
        self.owner = owner
        self.bid = bid
        self.ask = ask
        self.event_ms = event_ms


class Enricher:
    """The cross-partition state (books, quotes) and the figures computed from it."""

    def __init__(self, config: EnrichmentConfig) -> None:
        self.config = config
        self.books: dict[tuple[str, str], Book] = {}
        self.quotes: dict[str, dict[str, Quote]] = {}
        self.books_out_of_sync = 0

    def new_series(self) -> PriceSeries:
        return PriceSeries(self.config.spans, self.config.volatility_window)

    def price(
        self, owner: Owner, series: PriceSeries, data: PriceUpdate, event_ms: int
    ) -> PriceEnrichment:
        """Update the venue's series and quote with ``data`` (valid, canonical names) and
        return its figures."""
        series.update(data.price)
        exchange, pair = data.exchange, data.pair
        bid = data.bid if data.bid is not None else data.price
        ask = data.ask if data.ask is not None else data.price
        venues = self.quotes.get(pair)
        if venues is None:
            venues = self.quotes[pair] = {}
        cross = cross_venue(venues, exchange, bid, ask, event_ms, self.config.quote_ttl_ms)
        quote = venues.get(exchange)
        if quote is None:
            venues[exchange] = Quote(owner, bid, ask, event_ms)
        elif event_ms >= quote.event_ms:
            quote.owner, quote.bid, quote.ask, quote.event_ms = owner, bid, ask, event_ms
        depth = None
        book = self.books.get((exchange, pair))
        if book is not None:
            figures = book.depth(self.config.depth_band_bps)
            if figures is not None:
                mid, bid_size, ask_size = figures
                depth = BookDepth(
                    self.config.depth_band_bps, mid, bid_size, ask_size, event_ms - book.changed_ms
                )
        volatility = series.volatility()
        return PriceEnrichment(
            series.moving_averages(),
            volatility,
            None if volatility is None else self.config.volatility_window,
            cross,
            depth,
        )

    def snapshot(self, owner: Owner, data: OrderBookSnapshot, event_ms: int) -> None:
        book = self._book(owner, data.exchange, data.pair)
        book.snapshot(data, event_ms)

    def delta(self, owner: Owner, data: OrderBookDelta, event_ms: int) -> None:
        book = self.books.get((data.exchange, data.pair))
        if book is None or book.owner != owner:
            book = self._book(owner, data.exchange, data.pair)
        was_synced = book.synced
        if not book.apply(data, event_ms) and was_synced:
            self.books_out_of_sync += 1

    def drop(self, owners: Collection[Owner]) -> None:
        """Forget books and quotes built from partitions this instance no longer owns."""
        for key in [key for key, book in self.books.items() if book.owner in owners]:
            del self.books[key]
        for pair, venues in list(self.quotes.items()):
            for exchange in [ex for ex, quote in venues.items() if quote.owner in owners]:
                del venues[exchange]
            if not venues:
                del self.quotes[pair]

    def _book(self, owner: Owner, exchange: str, pair: str) -> Book:
        book = self.books.get((exchange, pair))
        if book is None:
            book = self.books[exchange, pair] = Book(owner)
        book.owner = owner
        return book


class Quoted(Protocol):
    """Any venue quote ``cross_venue`` can compare against (``Quote`` here, the training
    datasets' venue state in ``lucent_platform.datasets.features``)."""

    @property
    def bid(self) -> float: ...

    @property
    def ask(self) -> float: ...

    @property
    def event_ms(self) -> int: ...


def cross_venue(
    venues: Mapping[str, Quoted], exchange: str, bid: float, ask: float, event_ms: int, ttl_ms: int
) -> CrossVenueSpread | None:
    """``exchange``'s quote (``bid``/``ask`` at ``event_ms``) against the best current quotes
    of the pair's other ``venues`` (none older than ``ttl_ms`` by event time); None when no
    other venue is current. One definition for the processor's enrichment and the training
    datasets' cross-venue feature."""
    best_bid, best_bid_venue = 0.0, ""
    best_ask, best_ask_venue = 0.0, ""
    for venue, quote in venues.items():
        if venue == exchange or abs(event_ms - quote.event_ms) > ttl_ms:
            continue
        if quote.bid > best_bid:
            best_bid, best_bid_venue = quote.bid, venue
        if not best_ask_venue or quote.ask < best_ask:
            best_ask, best_ask_venue = quote.ask, venue
    if not best_ask_venue:
        return None
    return CrossVenueSpread(
        best_bid_venue,
        best_bid,
        best_ask_venue,
        best_ask,
        (best_bid - ask) / ask * 10_000.0,
        (bid - best_ask) / best_ask * 10_000.0,
    )


def book_imbalance(bid_size: float, ask_size: float) -> float | None:
    """``(bid - ask) / (bid + ask)`` of the sizes resting on each side: +1 all bids, -1 all
    asks, None when both are empty. For top-of-book sizes and for ``BookDepth`` alike."""
    total = bid_size + ask_size
    if total <= 0.0:
        return None
    return (bid_size - ask_size) / total
