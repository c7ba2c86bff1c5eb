"""The arbitrage detector (issue #6 item 4): buy on one venue, sell on another, now.

Input: the normalized price updates on ``market.prices.all`` (keyed by pair, so every venue
of a pair shares a partition). Per input partition and pair, the app keeps each venue's
**current quote** — its best bid and ask with the sizes resting there (``liquidity``, or the
processor's ``enrichment.depth`` when a feed has no top-of-book sizes) — as the venue's
latest update by event time (``FirstLast``: an update that arrives late never replaces a
newer one). A quote **expires** when it is older than ``window_ms`` (10 s) behind the
partition's event-time clock (the highest event time seen): it no longer counts.

**On every quote update** the pair is evaluated, in the batch that consumed the update (so an
opportunity leaves within milliseconds of the quote that opens the gap, never at a window's
end): for every ordered pair of venues, buying at one's ask and selling at the other's bid,

- gross ``spreadBps = (bid_sell - ask_buy) / ask_buy × 10⁴``;
- ``feesBps`` = both venues' taker fees (``taker_fees_bps``, ``default_fee_bps`` otherwise),
  ``netProfitBps = spreadBps - feesBps``, which must reach ``min_net_profit_bps``;
- ``size = min(ask size on the buy venue, bid size on the sell venue)`` (base units): at
  least ``min_size`` and worth at least ``min_notional`` (quote units) at the buy price; an
  unknown size fails any positive minimum. ``estimatedProfit`` is what that size earns after
  fees, in quote units.

The route with the best net edge wins (with equal fees: buy at the lowest ask, sell at the
highest bid). **Emission**: once per opening — when the pair had no qualifying route at its
previous evaluation — and again only when the net edge **improves materially**: by at least
``improvement_bps`` over the last emission of the same opening (a route flickering between
two venues does not count). An opening ends at the first evaluation with no qualifying route
(an update, or a quote of the pair expiring); a later gap is a new opening. The id is
``message_id_for(app, pair, triggering quote's message id)``, ``header.correlationId`` that
quote's id, ``header.eventTimeMs`` its event time; ``windowStartMs``/``windowEndMs`` the 10 s
of quotes that counted (``end`` = the quote's event time). Only ``header.receivedTimeMs``,
``metadata.latencyMs`` and ``data.detectionLatencyMs`` (the triggering quote's receipt by its
feed → detection, wall clock) depend on when the app runs.

**Rebuild** (``checkpoint``/``restore``/``warm``, DESIGN.md decision 4): the mark's ``start``
is the offset of the oldest quote still held — or, for a pair with an opening in progress, of
the oldest quote held when the pair was last seen closed, if older. Re-reading from there
rebuilds the same quotes, clock and openings: every held quote and the clock's quote lie in
the span, every quote before it is superseded or expired for all the evaluations that
matter, so a restart emits exactly what an uninterrupted run would (after de-duplication by
id).

Pure: no I/O; ``clock_ms`` (UTC ms, a float) is the only clock and is injectable.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lucent_platform.envelope import decode_as, encode, message_id_for, new_envelope
from lucent_platform.json_config import from_json
from lucent_platform.messages import ArbitrageOpportunity, PriceUpdate
from lucent_platform.processing import deadletter
from lucent_platform.processing.deadletter import DeadLetter
from lucent_platform.processing.pipeline import InRecord, Output
from lucent_platform.signals.aggregates import FirstLast
from lucent_platform.signals.keyed import PartitionedApp
from lucent_platform.signals.windows import Mark
from lucent_platform.topics import ARBITRAGE_OPPORTUNITIES, DEADLETTER

APP = "arbitrage-detector"
SOURCE = "lucent-arbitrage"
UNDECODABLE = "undecodable"
Partition = tuple[str, int]

DEFAULT_TAKER_FEES_BPS: dict[str, float] = {"binance": 10.0, "coinbase": 40.0, "kraken": 26.0}
"""Spot taker fees in bps at a modest volume tier (Binance 0.10 %, Coinbase Advanced
0.40 %, Kraken Pro 0.26 %): set your own tier in ``LUCENT_ARBITRAGE_CONFIG``."""


@dataclass(frozen=True)
class ArbitrageConfig:
    """``LUCENT_ARBITRAGE_CONFIG``: fees and thresholds (bps, base and quote units, ms)."""

    taker_fees_bps: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TAKER_FEES_BPS))
    default_fee_bps: float = 30.0
    min_net_profit_bps: float = 5.0
    min_size: float = 0.0
    min_notional: float = 100.0
    improvement_bps: float = 10.0
    window_ms: int = 10_000

    def __post_init__(self) -> None:
        if self.window_ms <= 0:
            raise ValueError("window_ms must be positive")
        if self.min_size < 0 or self.min_notional < 0 or self.improvement_bps < 0:
            raise ValueError("min_size, min_notional and improvement_bps must not be negative")
        if self.default_fee_bps < 0 or any(f < 0 for f in self.taker_fees_bps.values()):
            raise ValueError("fees must not be negative")

    def fee_bps(self, exchange: str) -> float:
        return self.taker_fees_bps.get(exchange, self.default_fee_bps)


def arbitrage_config(overrides: Mapping[str, Any]) -> ArbitrageConfig:
    """An ``ArbitrageConfig`` from JSON like ``{"taker_fees_bps": {"binance": 7.5},
    "min_net_profit_bps": 10}``; fees given replace the defaults venue by venue. Raises
    ``ValueError`` naming an unknown field or a bad value."""
    return from_json(ArbitrageConfig, overrides, "arbitrage",
                     merged={"taker_fees_bps": DEFAULT_TAKER_FEES_BPS})  # fmt: skip


@dataclass(frozen=True, slots=True)
class Quote:
    """One venue's executable top of book, from one price update."""

    exchange: str
    bid: float
    ask: float
    bid_size: float | None
    ask_size: float | None
    event_ms: int
    offset: int
    message_id: str
    received_ms: int


@dataclass(frozen=True, slots=True)
class Route:
    """Buy at ``buy.ask``, sell at ``sell.bid``: the figures an opportunity carries."""

    buy: Quote
    sell: Quote
    spread_bps: float
    fees_bps: float
    net_bps: float
    size: float | None
    profit: float | None


def quote_of(
    update: PriceUpdate, event_ms: int, offset: int, mid: str, received: int
) -> Quote | None:
    """The update's executable quote; None without a positive bid and ask."""
    bid, ask = update.bid, update.ask
    if bid is None or ask is None or bid <= 0 or ask <= 0:
        return None
    bid_size = ask_size = None
    if update.liquidity is not None:
        bid_size, ask_size = update.liquidity.bid_size, update.liquidity.ask_size
    elif update.enrichment is not None and update.enrichment.depth is not None:
        bid_size, ask_size = update.enrichment.depth.bid_size, update.enrichment.depth.ask_size
    return Quote(update.exchange, bid, ask, bid_size, ask_size, event_ms, offset, mid, received)


def best_route(quotes: Iterable[Quote], config: ArbitrageConfig) -> Route | None:
    """The qualifying route with the best net edge (ties: by buy, then sell venue name)."""
    venues = sorted(quotes, key=lambda q: q.exchange)
    best: Route | None = None
    for buy in venues:
        for sell in venues:
            if sell.bid <= buy.ask or sell is buy:
                continue
            spread = (sell.bid - buy.ask) / buy.ask * 10_000.0
            fees = config.fee_bps(buy.exchange) + config.fee_bps(sell.exchange)
            net = spread - fees
            if net < config.min_net_profit_bps or (best is not None and net <= best.net_bps):
                continue
            size = None
            if buy.ask_size is not None and sell.bid_size is not None:
                size = min(buy.ask_size, sell.bid_size)
            if size is None:
                if config.min_size > 0 or config.min_notional > 0:
                    continue
                profit = None
            else:
                if size < config.min_size or size * buy.ask < config.min_notional:
                    continue
                profit = size * (
                    sell.bid * (1 - config.fee_bps(sell.exchange) / 10_000.0)
                    - buy.ask * (1 + config.fee_bps(buy.exchange) / 10_000.0)
                )
            best = Route(buy, sell, spread, fees, net, size, profit)
    return best


class PairBook:
    """One pair's current quotes per venue and its opening, if one is in progress."""

    __slots__ = ("closed_floor", "open_net", "quotes")

    def __init__(self) -> None:
        self.quotes: dict[str, FirstLast[Quote]] = {}
        self.open_net: float | None = None  # net bps of the opening's last emission
        self.closed_floor: int | None = None  # the partition's floor when last seen closed

    def live(self) -> list[Quote]:
        return [slot.last for slot in self.quotes.values() if slot.last is not None]


class PartitionState:
    """Every pair of one input partition, the event-time clock, and two lazy heaps over
    the held quotes: by event time (expiry) and by offset (the rebuild floor)."""

    __slots__ = ("books", "by_offset", "by_time", "clock_ms")

    def __init__(self) -> None:
        self.books: dict[str, PairBook] = {}
        self.clock_ms: int | None = None
        self.by_time: list[tuple[int, int, str, str]] = []
        self.by_offset: list[tuple[int, str, str]] = []

    def held(self, pair: str, exchange: str, offset: int) -> bool:
        book = self.books.get(pair)
        slot = None if book is None else book.quotes.get(exchange)
        return slot is not None and slot.last is not None and slot.last.offset == offset

    def floor(self) -> int | None:
        """The offset of the oldest quote held."""
        heap = self.by_offset
        while heap and not self.held(heap[0][1], heap[0][2], heap[0][0]):
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def mark(self) -> Mark:
        starts = [b.closed_floor for b in self.books.values() if b.open_net is not None]
        floor = self.floor()
        if floor is not None:
            starts.append(floor)
        known = [s for s in starts if s is not None]
        return Mark(min(known) if known else None, self.clock_ms)


class ArbitrageDetector(PartitionedApp[PartitionState]):
    """``lucent worker arbitrage``'s processor (``streaming.runtime.records.Stateful``):
    price updates in, ``ArbitrageOpportunity`` envelopes out."""

    def __init__(
        self,
        config: ArbitrageConfig,
        *,
        clock_ms: Callable[[], float],
        out_topic: str = ARBITRAGE_OPPORTUNITIES,
        dead_topic: str = DEADLETTER,
    ) -> None:
        super().__init__()
        self.config = config
        self.out_topic = out_topic
        self.dead_topic = dead_topic
        self._clock_ms = clock_ms

    # --- the processor (the rest is PartitionedApp's; ``restore`` starts empty and ``warm``
    # rebuilds the clock record by record, so every replayed evaluation sees the clock it saw)
    def new_partition(self) -> PartitionState:
        return PartitionState()

    def mark(self, state: PartitionState) -> Mark | None:
        return state.mark()

    def pairs(self, partition: Partition) -> int:
        state = self._parts.get(partition)
        return 0 if state is None else len(state.books)

    # --- internals -----------------------------------------------------------------------
    def run(
        self, records: Sequence[InRecord], outputs: list[Output] | None, counts: Counter[str]
    ) -> None:
        window = self.config.window_ms
        for record in records:
            tp = (record.topic, record.partition)
            state = self._parts.get(tp)
            if state is None:
                state = self._parts[tp] = PartitionState()
            if record.value is None:
                counts["skipped"] += 1
                continue
            try:
                envelope = decode_as(record.value, PriceUpdate)
            except ValueError as exc:
                counts["dead.undecodable"] += 1
                if outputs is not None:
                    outputs.append(self._dead_letter(record, str(exc)))
                continue
            h, update = envelope.header, envelope.data
            quote = quote_of(update, h.event_time_ms, record.offset, h.message_id,
                             h.received_time_ms)  # fmt: skip
            if quote is None:
                counts["skipped"] += 1  # no executable quote (an oracle, a last price)
                continue
            if state.clock_ms is not None and quote.event_ms < state.clock_ms - window:
                counts["stale"] += 1  # expired on arrival: never counts
                continue
            counts["quotes"] += 1
            book = state.books.get(update.pair)
            if book is None:
                book = state.books[update.pair] = PairBook()
            slot = book.quotes.get(quote.exchange)
            if slot is None:
                slot = book.quotes[quote.exchange] = FirstLast()
            slot.add(quote, quote.event_ms, quote.offset)
            if slot.last is quote:
                heapq.heappush(state.by_time, (quote.event_ms, quote.offset, update.pair,
                                               quote.exchange))  # fmt: skip
                heapq.heappush(state.by_offset, (quote.offset, update.pair, quote.exchange))
            if state.clock_ms is None or quote.event_ms > state.clock_ms:
                state.clock_ms = quote.event_ms
                self._expire(state, state.clock_ms - window, counts)
            self._evaluate(state, update.pair, book, quote, outputs, counts)

    def _expire(self, state: PartitionState, before_ms: int, counts: Counter[str]) -> None:
        """Drop quotes older than the window; a pair left without a qualifying route by it
        ends its opening, a pair left without quotes is forgotten."""
        heap, touched = state.by_time, set()
        while heap and heap[0][0] < before_ms:
            _, offset, pair, exchange = heapq.heappop(heap)
            if state.held(pair, exchange, offset):
                del state.books[pair].quotes[exchange]
                touched.add(pair)
                counts["expired"] += 1
        for pair in sorted(touched):
            book = state.books[pair]
            if book.open_net is not None and best_route(book.live(), self.config) is None:
                book.open_net = None
                counts["closed"] += 1
            if book.open_net is None:
                book.closed_floor = state.floor()
            if not book.quotes:
                del state.books[pair]

    def _evaluate(
        self,
        state: PartitionState,
        pair: str,
        book: PairBook,
        quote: Quote,
        outputs: list[Output] | None,
        counts: Counter[str],
    ) -> None:
        route = best_route(book.live(), self.config)
        if route is None:
            if book.open_net is not None:
                book.open_net = None
                counts["closed"] += 1
            book.closed_floor = state.floor()
            return
        if book.open_net is None:
            counts["opened"] += 1
        elif route.net_bps >= book.open_net + self.config.improvement_bps:
            counts["improved"] += 1
        else:
            return
        book.open_net = route.net_bps
        counts["opportunities"] += 1
        if outputs is not None:
            outputs.append(self._output(pair, route, quote))

    def _output(self, pair: str, route: Route, cause: Quote) -> Output:
        now = self._clock_ms()
        opportunity = ArbitrageOpportunity(
            pair=pair,
            buy_exchange=route.buy.exchange,
            sell_exchange=route.sell.exchange,
            buy_price=route.buy.ask,
            sell_price=route.sell.bid,
            spread_bps=round(route.spread_bps, 6),
            fees_bps=round(route.fees_bps, 6),
            net_profit_bps=round(route.net_bps, 6),
            window_start_ms=cause.event_ms - self.config.window_ms,
            window_end_ms=cause.event_ms,
            size=route.size,
            estimated_profit=None if route.profit is None else round(route.profit, 8),
            buy_size=route.buy.ask_size,
            sell_size=route.sell.bid_size,
            detection_latency_ms=round(now - cause.received_ms, 3),
        )
        envelope = new_envelope(
            opportunity,
            source=SOURCE,
            event_time_ms=cause.event_ms,
            received_time_ms=int(now),
            message_id=message_id_for(APP, pair, cause.message_id),
            correlation_id=cause.message_id,
        )
        return Output(self.out_topic, pair.encode(), encode(envelope))

    def _dead_letter(self, record: InRecord, detail: str) -> Output:
        letter = DeadLetter(
            reason=UNDECODABLE,
            detail=detail,
            source_topic=record.topic,
            source_partition=record.partition,
            source_offset=record.offset,
            source_timestamp_ms=record.timestamp_ms,
            dead_lettered_at_ms=int(self._clock_ms()),
            original_base64=record.value or b"",
            original_null=record.value is None,
        )
        return Output(self.dead_topic, record.topic.encode(), deadletter.encode(letter),
                      (("reason", UNDECODABLE.encode()),))  # fmt: skip
