"""Kraken websocket v2 ``book`` frames: ccxt's maintained book, checked with v2's checksum.

Kraken's documented update: ``{"channel": "book", "type": "update", "data": [{"symbol":
"MATIC/USD", "bids": [{"price": 0.5657, "qty": 1098.3947558}], "asks": [], "checksum":
2114181697, "timestamp": "2023-10-06T17:35:55.440295Z"}]}`` → ``OrderBookDelta`` with the
frame's levels in frame order; a ``"type": "snapshot"`` frame → ``OrderBookSnapshot``.

ccxt.pro's ``handle_order_book`` keeps the book: a snapshot replaces it, an update applies its
levels in order (qty 0 removes one) and cuts the book to its depth; the book is resolved under
``orderbook@SYMBOL``. Around it, three things ccxt does not do as Kraken specifies:

- depth: ccxt sizes the book by the snapshot's number of asks (none: unlimited), but Kraken
  cuts to the *subscribed* depth without sending removals. The depth is the one the
  subscription ack named (``{"method": "subscribe", "result": {"channel": "book", "depth":
  10, …}}``), else the smallest of Kraken's depths that holds the snapshot.
- checksum: ccxt's check is off by default ("not reliable") and, switched on, fails on its own
  float levels (``format_number`` splits text). v2 sends JSON numbers, so levels are written
  out with the pair's price and qty decimals (AssetPairs ``pair_decimals``/``lot_decimals``)
  before the CRC32 (``books.kraken_v2_checksum``); snapshots carry a checksum too. For a pair
  missing from the markets, or whose stored decimals no longer fit, the decimals are those
  that reproduce the snapshot's checksum (a one-off search, at most 13 × 13 candidates).
- integrity: an update without a book → ``low``/``no_snapshot``; a checksum mismatch or a
  crossed book → ``low`` with the reason, the book dropped; the pair is listed in
  ``resnapshot`` once, as with v1.

Message ids come from the checksum plus a content hash of the entry (a change below the top
10 levels leaves the checksum as it was).
"""

from __future__ import annotations

from typing import Any

from lucent_platform.connectors.base import Connector, ParseResult
from lucent_platform.connectors.books import (
    decimals_of,
    figures,
    is_crossed,
    kraken_v2_checksum,
    top,
)
from lucent_platform.connectors.envelopes import Quality, content_key
from lucent_platform.connectors.frames import FrameError, integer, price, require, size
from lucent_platform.envelope import iso_to_ms
from lucent_platform.messages import OrderBookDelta, OrderBookSnapshot, PriceLevel

KRAKEN_DEPTHS = (10, 25, 100, 500, 1000)  # the depths a v2 book subscription accepts
MAX_DECIMALS = 12  # upper bound of the decimals search for pairs without known ones


class KrakenV2Books(Connector):
    """The v2 ``book`` channel; ``kraken_v2.KrakenV2`` resolves markets and dispatches."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._v2_depths: dict[str, int] = {}  # v2 symbol → depth its subscription ack named
        self._v2_decimals: dict[str, tuple[int, int]] = {}  # ccxt symbol → price, qty decimals

    def v2_book_subscribed(self, result: Any) -> None:
        """Remember the depth a book subscription ack names for its symbol."""
        if isinstance(result, dict) and result.get("channel") == "book":
            symbol, depth = result.get("symbol"), result.get("depth")
            if isinstance(symbol, str) and depth in KRAKEN_DEPTHS:
                self._v2_depths[symbol] = depth

    def _v2_book(
        self, kind: str, entry: dict[str, Any], market: dict[str, Any], pair: str, received_ms: int
    ) -> ParseResult:
        symbol = market["symbol"]
        bids = _levels(entry.get("bids", []), "bids")  # strict checks before ccxt reads them
        asks = _levels(entry.get("asks", []), "asks")
        checksum = _checksum(entry.get("checksum"))
        event_ms = v2_time(entry["timestamp"]) if "timestamp" in entry else None
        # ccxt keys its book by the symbol it is given: hand it the market's
        frame = {"channel": "book", "type": kind, "data": [{**entry, "symbol": symbol}]}
        problem: str | None
        if kind == "snapshot":
            self.handle(frame)
            book = self._fit_depth(symbol, entry["symbol"], bids, asks)
            self.got_snapshot(pair)
            problem = self._problem(symbol, market, book, checksum, snapshot=True)
            data: Any = OrderBookSnapshot(
                exchange=self.exchange,
                pair=pair,
                bids=top(book["bids"], self.depth),
                asks=top(book["asks"], self.depth),
            )
        else:
            book = self._exchange.orderbooks.get(symbol)
            if book is None:
                problem = "no_snapshot"
            else:
                self.handle(frame)
                problem = self._problem(symbol, market, book, checksum, snapshot=False)
            data = OrderBookDelta(exchange=self.exchange, pair=pair, bids=bids, asks=asks)
        result = ParseResult()
        quality = Quality()
        if problem is not None:
            self._exchange.orderbooks.pop(symbol, None)
            quality.lower("low", problem)
            result.resnapshot = self.need_snapshot(pair)
        elif (book_figures := figures(book["bids"], book["asks"])) is not None:
            result.books[pair] = book_figures
        key = ("book", kind, checksum, content_key(entry))
        result.envelopes.append(
            self.envelope(
                data, received_ms=received_ms, event_ms=event_ms, key=key, quality=quality
            )
        )
        return result

    def _fit_depth(
        self, symbol: str, v2_symbol: str, bids: list[PriceLevel], asks: list[PriceLevel]
    ) -> Any:
        """The snapshot's book, made again with Kraken's depth where ccxt sized it otherwise.

        ccxt's depth is the number of asks sent, and it has already cut the bids to it: a thin
        book (3 asks, 10 bids) would lose bids, so the book is made again from the frame.
        """
        held = max(len(asks), len(bids))
        depth = self._v2_depths.get(v2_symbol) or next(
            (d for d in KRAKEN_DEPTHS if d >= held), held
        )
        if depth == len(asks):
            return self._exchange.orderbooks[symbol]
        snapshot = {"asks": [list(a) for a in asks], "bids": [list(b) for b in bids]}
        book = self._exchange.order_book({**snapshot, "symbol": symbol}, depth)
        book.limit()
        self._exchange.orderbooks[symbol] = book
        return book

    def _problem(
        self,
        symbol: str,
        market: dict[str, Any],
        book: Any,
        checksum: int | None,
        *,
        snapshot: bool,
    ) -> str | None:
        """Why the book cannot be trusted after this frame, or None."""
        if checksum is not None:
            decimals = self._v2_decimals.get(symbol) or _market_decimals(market)
            if decimals is None or kraken_v2_checksum(book["asks"], book["bids"], *decimals) != (
                checksum
            ):
                decimals = _search_decimals(book, checksum) if snapshot else None
                if decimals is None:
                    return "checksum_mismatch"
            self._v2_decimals[symbol] = decimals
        if is_crossed(book["bids"], book["asks"]):
            return "crossed_book"
        return None


def v2_time(value: Any) -> int:
    """A v2 RFC 3339 time, ``"2023-09-25T07:49:37.708706Z"`` → epoch ms (µs truncated)."""
    require(isinstance(value, str), f"bad time: {value!r}")
    try:
        return iso_to_ms(value.replace("Z", "+00:00"))
    except ValueError:
        raise FrameError(f"bad time: {value!r}") from None


def _levels(raw: Any, what: str) -> list[PriceLevel]:
    """``[{"price": 0.5657, "qty": 1098.3947558}, …]`` → ``[(price, qty), …]``, checked."""
    require(isinstance(raw, list), f"bad levels: {what} is not a list")
    levels = []
    for level in raw:
        require(isinstance(level, dict), f"bad levels: {what} has {level!r}")
        levels.append(
            (price(level.get("price"), f"{what} price"), size(level.get("qty"), f"{what} qty"))
        )
    return levels


def _checksum(value: Any) -> int | None:
    if value is None:
        return None
    checksum = integer(value, "checksum")
    require(0 <= checksum < 2**32, f"bad integer: checksum {checksum} is not a CRC32")
    return checksum


def _market_decimals(market: dict[str, Any]) -> tuple[int, int] | None:
    """The pair's price and qty decimals from Kraken's AssetPairs entry, if the market has one."""
    info = market.get("info")
    if not isinstance(info, dict):
        return None
    price_decimals, qty_decimals = info.get("pair_decimals"), info.get("lot_decimals")
    if isinstance(price_decimals, int) and isinstance(qty_decimals, int):
        return price_decimals, qty_decimals
    return None


def _search_decimals(book: Any, checksum: int) -> tuple[int, int] | None:
    """The price and qty decimals with which the book's top 10 levels give ``checksum``.

    No fewer decimals than the levels show; a chance match needs one of ≤ 169 candidates to
    hit a given CRC32, about 4 in 10⁸.
    """
    asks, bids = book["asks"][:10], book["bids"][:10]
    levels = [*asks, *bids]
    least_price = max((decimals_of(level[0]) for level in levels), default=0)
    least_qty = max((decimals_of(level[1]) for level in levels), default=0)
    for price_decimals in range(least_price, MAX_DECIMALS + 1):
        for qty_decimals in range(least_qty, MAX_DECIMALS + 1):
            if kraken_v2_checksum(asks, bids, price_decimals, qty_decimals) == checksum:
                return price_decimals, qty_decimals
    return None
