"""Enrichment: moving averages, volatility, cross-venue spread and book depth, by hand."""

from __future__ import annotations

import itertools
import math
import random
import statistics
from typing import Any

import pytest

from lucent_platform import topics
from lucent_platform.envelope import decode, encode, new_envelope
from lucent_platform.messages import (
    CrossVenueSpread,
    OrderBookDelta,
    OrderBookSnapshot,
    PriceEnrichment,
    PriceUpdate,
)
from lucent_platform.processing import (
    EnrichmentConfig,
    InRecord,
    MarketProcessor,
    ProcessorConfig,
)
from lucent_platform.processing.books import Book
from lucent_platform.processing.rolling import PriceSeries

T0 = 1_756_809_000_000


def prices(n: int, seed: int = 4) -> list[float]:
    rng, price, path = random.Random(seed), 3_000.0, []
    for _ in range(n):
        price *= math.exp(rng.gauss(0.0, 2e-4))
        path.append(round(price, 2))
    return path


def test_moving_averages_and_volatility_match_a_direct_computation() -> None:
    series = PriceSeries((3, 5), volatility_window=4)
    path = prices(500)
    for i, price in enumerate(path, 1):
        series.update(price)
        averages = series.moving_averages() or []
        assert [a.span for a in averages] == [s for s in (3, 5) if i >= s]
        for average in averages:
            assert average.sma == pytest.approx(statistics.fmean(path[i - average.span : i]))
            alpha, ema = 2 / (average.span + 1), path[0]
            for p in path[1:i]:
                ema += alpha * (p - ema)
            assert average.ema == pytest.approx(ema)
        returns = [math.log(b / a) for a, b in itertools.pairwise(path[:i])]
        if len(returns) >= 4:
            assert series.volatility() == pytest.approx(statistics.stdev(returns[-4:]), rel=1e-6)
        else:
            assert series.volatility() is None


def test_a_constant_price_has_zero_volatility() -> None:
    series = PriceSeries((2,), volatility_window=3)
    for _ in range(10):
        series.update(1.0001)
    assert series.volatility() == 0.0


# --- books -----------------------------------------------------------------------------------

SNAPSHOT = OrderBookSnapshot(
    exchange="binance", pair="ETH-USDT", sequence=100,
    bids=[(2999.5, 1.0), (2999.0, 2.0), (2990.0, 50.0)],
    asks=[(3000.5, 1.5), (3001.0, 2.5), (3010.0, 40.0)],
)  # fmt: skip


def delta(first: int, last: int, bids: list[Any], asks: list[Any]) -> OrderBookDelta:
    return OrderBookDelta(exchange="binance", pair="ETH-USDT", bids=bids, asks=asks,
                          first_sequence=first, sequence=last)  # fmt: skip


def test_depth_within_a_band_of_the_mid() -> None:
    book = Book(("market.orderbook.binance.eth-usdt", 0))
    book.snapshot(SNAPSHOT, T0)
    assert book.depth(10.0) == (3000.0, 3.0, 4.0)  # ±3 USD: the far levels are outside
    assert book.depth(100.0) == (3000.0, 53.0, 44.0)  # ±30 USD: everything


def test_deltas_in_sequence_move_the_book_and_a_gap_stops_its_depth() -> None:
    book = Book(("market.orderbook.binance.eth-usdt", 0))
    assert not book.apply(delta(90, 95, [(2999.0, 9.0)], []), T0)  # no snapshot yet
    book.snapshot(SNAPSHOT, T0)
    assert book.apply(delta(95, 100, [(2999.0, 9.0)], []), T0)  # older: already in the book
    assert book.depth(10.0) == (3000.0, 3.0, 4.0)
    assert book.apply(delta(99, 103, [(2999.5, 0.0), (2999.0, 4.0)], [(3000.5, 0.5)]), T0 + 5)
    assert book.depth(10.0) == (2999.75, 4.0, 3.0)  # best bid removed: mid moved down
    assert book.changed_ms == T0 + 5
    assert book.apply(delta(104, 104, [(3000.0, 1.0)], []), T0 + 6)
    assert book.depth(10.0) == (3000.25, 5.0, 3.0)
    assert not book.apply(delta(107, 109, [], [(3000.5, 7.0)]), T0 + 7)  # 105, 106 missed
    assert book.depth(10.0) is None
    book.snapshot(SNAPSHOT, T0 + 8)  # the next snapshot brings it back
    assert book.depth(10.0) == (3000.0, 3.0, 4.0)


def test_running_totals_stay_exact_over_many_deltas() -> None:
    book = Book(("t", 0))
    book.snapshot(SNAPSHOT, T0)
    rng = random.Random(2)
    for sequence in range(101, 5101):
        price = rng.choice([2999.5, 2999.0, 2998.5])
        book.apply(delta(sequence, sequence, [(price, round(rng.uniform(0, 3), 4))], []), T0)
    assert book.depth(100.0) == (
        pytest.approx((max(book.bids) + 3000.5) / 2),
        pytest.approx(math.fsum(book.bids.values())),
        44.0,
    )


# --- through the processor -------------------------------------------------------------------


def frame(data: Any, event_ms: int) -> bytes:
    return encode(new_envelope(data, source="sim", event_time_ms=event_ms,
                               received_time_ms=event_ms + 5))  # fmt: skip


def quote(exchange: str, bid: float, ask: float) -> PriceUpdate:
    return PriceUpdate(exchange=exchange, pair="ETH-USDT", price=round((bid + ask) / 2, 3),
                       bid=bid, ask=ask, spread=round(ask - bid, 2))  # fmt: skip


class Feed:
    def __init__(self, **enrichment: Any) -> None:
        config = ProcessorConfig(enrichment=EnrichmentConfig(**enrichment))
        self.processor = MarketProcessor(config, clock_ms=lambda: T0)
        self.offset = 0

    def cross(self, data: PriceUpdate, event_ms: int) -> CrossVenueSpread | None:
        enrichment = self.send(data, event_ms)
        assert enrichment is not None
        return enrichment.cross_venue

    def send(self, data: Any, event_ms: int) -> PriceEnrichment | None:
        topic = topics.raw_topic(data.message_type, data)
        self.offset += 1
        record = InRecord(topic, 0, self.offset, event_ms, None, frame(data, event_ms))
        (out,) = self.processor.process([record]).outputs
        assert out.topic != topics.DEADLETTER
        return getattr(decode(out.value).data, "enrichment", None)


def test_cross_venue_spread_against_the_best_current_quotes() -> None:
    feed = Feed(quote_ttl_ms=10_000)
    assert feed.cross(quote("binance", 2999.5, 3000.5), T0) is None
    feed.send(quote("kraken", 3001.0, 3002.0), T0 + 1_000)  # bids above binance's ask
    feed.send(quote("coinbase", 2998.0, 2999.0), T0 + 2_000)  # asks below binance's bid
    feed.send(quote("okx", 3100.0, 3101.0), T0 - 20_000)  # too old to count
    cross = feed.cross(quote("binance", 2999.5, 3000.5), T0 + 3_000)
    assert cross is not None
    assert (cross.best_bid_exchange, cross.best_bid) == ("kraken", 3001.0)
    assert (cross.best_ask_exchange, cross.best_ask) == ("coinbase", 2999.0)
    assert cross.buy_here_bps == pytest.approx((3001.0 - 3000.5) / 3000.5 * 1e4)  # ≈ +1.7
    assert cross.sell_here_bps == pytest.approx((2999.5 - 2999.0) / 2999.0 * 1e4)
    # 12 s later kraken's quote has expired; coinbase's (10 s old) still counts.
    cross = feed.cross(quote("binance", 2999.5, 3000.5), T0 + 12_000)
    assert cross is not None and cross.best_bid_exchange == "coinbase"


def test_a_ticker_carries_averages_volatility_and_its_venue_book_depth() -> None:
    feed = Feed(spans=(2, 4), volatility_window=3, depth_band_bps=10.0)
    feed.send(SNAPSHOT, T0)
    feed.send(delta(101, 101, [(2999.5, 4.0)], []), T0 + 200)
    path = [3000.0, 3000.5, 2999.5, 3000.0, 3001.0]
    for i, price in enumerate(path):
        enrichment = feed.send(quote("binance", price - 0.5, price + 0.5), T0 + 1_000 * (i + 1))
    assert enrichment is not None
    averages = {a.span: a for a in enrichment.moving_averages or []}
    assert averages[2].sma == pytest.approx(3000.5)
    assert averages[4].sma == pytest.approx(statistics.fmean(path[1:]))
    returns = [math.log(b / a) for a, b in itertools.pairwise(path)]
    assert enrichment.volatility == pytest.approx(statistics.stdev(returns[-3:]))
    assert enrichment.volatility_window == 3
    depth = enrichment.depth
    assert depth is not None
    assert (depth.band_bps, depth.mid, depth.bid_size, depth.ask_size) == (10.0, 3000.0, 6.0, 4.0)
    assert depth.age_ms == 5_000 - 200


def brute_depth(book: Book, band_bps: float) -> tuple[float, float, float] | None:
    bids = {p: s for p, s in book.bids.items() if s > 0}
    asks = {p: s for p, s in book.asks.items() if s > 0}
    if not bids or not asks or max(bids) >= min(asks):
        return None
    mid = (max(bids) + min(asks)) / 2
    low, high = mid * (1 - band_bps / 1e4), mid * (1 + band_bps / 1e4)
    return (
        mid,
        math.fsum(s for p, s in bids.items() if p >= low),
        math.fsum(s for p, s in asks.items() if p <= high),
    )


@pytest.mark.parametrize("seed", range(5))
def test_depth_after_any_deltas_equals_a_full_scan(seed: int) -> None:
    rng = random.Random(seed)
    book = Book(("t", 0))
    book.snapshot(SNAPSHOT, T0)
    for sequence in range(101, 2101):
        bids = [(round(2990 + rng.randrange(24) * 0.5, 1), rng.choice([0.0, 0.5, 3.0]))
                for _ in range(rng.randrange(3))]  # fmt: skip
        asks = [(round(3000.5 + rng.randrange(20) * 0.5, 1), rng.choice([0.0, 0.5, 3.0]))
                for _ in range(rng.randrange(3))]  # fmt: skip
        book.apply(delta(sequence, sequence, bids, asks), T0)
        band = rng.choice([1.0, 10.0, 40.0])
        expected = brute_depth(book, band)
        found = book.depth(band)
        if expected is None:
            assert found is None
        else:
            assert found == pytest.approx(expected)
