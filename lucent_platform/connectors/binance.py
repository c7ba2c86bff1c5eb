"""Binance spot (and Binance.US) frames → envelopes, parsed by ``ccxt.pro.binance``.

Frames come bare or in the combined-stream wrapper ``{"stream": "btcusdt@aggTrade", "data": …}``
(what ``/stream?streams=…`` sends and what other capture tools record). Kinds:

- ``aggTrade``/``trade`` → ``Trade``; e.g. ``{"e": "aggTrade", "E": 1617566591315,
  "s": "BTCUSDT", "a": 665076760, "p": "58001.03000000", "q": "0.08620500",
  "f": 745522877, "l": 745522877, "T": 1617566591314, "m": true, "M": true}`` is a taker sell
  (``m``: the buyer was the maker) of 0.086205 BTC at 58001.03, id ``665076760``, time ``T``.
- ``bookTicker`` → ``PriceUpdate`` at the mid: ``{"u": 575850089, "s": "BTCUSD",
  "b": "58823.1000", "B": "0.00404300", "a": "58830.2700", "A": "0.01628400"}``.
- ``24hrTicker``/``24hrMiniTicker``/``1dTicker`` → ``PriceUpdate`` with 24 h statistics.
- ``depthUpdate`` → ``OrderBookDelta`` with ``U``/``u``; e.g. ``{"e": "depthUpdate",
  "E": 1617566591307, "s": "BTCUSDT", "U": 9893032989, "u": 9893032991,
  "b": [["55000.00000000", "135.66466600"]], "a": [["58042.29000000", "0.09700000"]]}``.
- a REST depth snapshot (``RawFrame.url`` ``…/depth?symbol=BTCUSDT&limit=1000``, body
  ``{"lastUpdateId": 9893033066, "bids": [["58001.03", "1.2"], …], "asks": […]}``) →
  ``OrderBookSnapshot``, and the maintained book starts from it;
- partial-depth streams (``btcusdt@depth20``, ``{"lastUpdateId", "bids", "asks"}``) →
  ``OrderBookSnapshot`` each (they replace, not update, the top levels);
- ``kline`` and the 1 h/4 h rolling tickers are skipped: no message kind of ours carries them.

The book follows Binance's documented procedure, which ccxt's ``handle_order_book``
implements: updates before the snapshot are kept (and published, quality ``low``); after the
snapshot, updates with ``u`` ≤ ``lastUpdateId`` are ignored (published, marked ``low``
with the ``in_snapshot`` flag, never applied), the first must straddle
``lastUpdateId + 1`` and every next one must start at the previous ``u + 1``. ccxt raises a
``ChecksumError`` for a gap, drops its book and rejects the book's message hash: we see the
rejection, list the pair in ``resnapshot`` and mark envelopes ``low`` until a new snapshot.
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lucent_platform.connectors.base import Connector, ParseResult
from lucent_platform.connectors.books import figures, is_crossed, read_levels, top
from lucent_platform.connectors.envelopes import Quality
from lucent_platform.connectors.frames import FrameError, epoch_ms, integer, price, require
from lucent_platform.messages import OrderBookDelta, OrderBookSnapshot

PENDING_LIMIT = 1000  # depth updates kept per symbol while waiting for a snapshot
_TICKERS = {"24hrTicker", "24hrMiniTicker", "1dTicker"}
_SKIPPED = {
    "kline": "kline: candles are not mapped to a message kind",
    "1hTicker": "1hTicker: rolling 1 h statistics are not 24 h statistics",
    "4hTicker": "4hTicker: rolling 4 h statistics are not 24 h statistics",
}


class BinanceConnector(Connector):
    """Binance spot websocket and REST depth frames (also Binance.US: same formats)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: defaultdict[str, deque[dict[str, Any]]] = defaultdict(
            lambda: deque(maxlen=PENDING_LIMIT)
        )

    def _parse(self, message: Any, received_ms: int, url: str | None) -> ParseResult:
        if url is not None:
            return self._rest(message, received_ms, url)
        stream = None
        if isinstance(message, dict) and "stream" in message and "data" in message:
            stream, message = message["stream"], message["data"]
            require(isinstance(stream, str), "bad shape: combined-stream name is not text")
        if isinstance(message, list):
            require(bool(message), "bad shape: empty list")
            return self._tickers(message, received_ms)
        require(isinstance(message, dict), f"bad shape: {type(message).__name__} frame")
        event = message.get("e")
        require(event is None or isinstance(event, str), f"bad shape: event {event!r}")
        if event is None:
            if "id" in message and ("result" in message or "error" in message):
                return ParseResult(control=True, skipped=_error_text(message))
            if "lastUpdateId" in message and stream is not None and "@depth" in stream:
                return self._partial_depth(message, stream, received_ms)
            if {"u", "s", "b", "a"} <= message.keys():
                return self._tickers([message], received_ms, book_ticker=True)
            raise FrameError("unknown channel: no event type")
        if event in ("aggTrade", "trade"):
            return self._trades(message, received_ms)
        if event == "depthUpdate":
            return self._depth_update(message, received_ms)
        if event == "bookTicker":
            return self._tickers([message], received_ms, book_ticker=True)
        if event in _TICKERS:
            return self._tickers([message], received_ms)
        if event in _SKIPPED:
            return ParseResult(skipped=_SKIPPED[event])
        raise FrameError(f"unknown channel: event {event!r}")

    # --- trades and tickers ------------------------------------------------------------------

    def _trades(self, message: dict[str, Any], received_ms: int) -> ParseResult:
        price(message.get("p"), "price")  # strict checks before ccxt reads them
        price(message.get("q"), "quantity")
        captured = self.handle(message)
        envelopes = []
        for trades in captured.values("trade::"):
            for trade in trades:
                pair = self.pair_for(trade["symbol"])
                aggregated = message.get("e") == "aggTrade"
                # aggregate and raw trade ids are separate number spaces: keep them apart
                key = ("agg", trade["id"]) if aggregated else (trade["id"],)
                envelopes.append(self.trade(trade, pair, received_ms=received_ms, key=key))
        require(bool(envelopes), "bad shape: trade frame without a trade")
        return ParseResult(envelopes)

    def _tickers(
        self, messages: list[Any], received_ms: int, *, book_ticker: bool = False
    ) -> ParseResult:
        for message in messages:
            require(isinstance(message, dict), "bad shape: ticker is not an object")
            require(isinstance(message.get("s"), str), "bad shape: ticker without symbol")
        if book_ticker:
            captured = self.handle(messages[0])
            tickers = captured.values("bidask:")
        else:
            captured = self.handle(messages if len(messages) > 1 else messages[0])
            tickers = captured.values("ticker:")
        envelopes = []
        for ticker in tickers:
            info = ticker["info"]
            pair = self.pair_for(ticker["symbol"])
            key = ("book", info.get("u")) if book_ticker else (info.get("e"), info.get("E"))
            # ccxt stamps 24 h tickers with the window's close time C; the event time is E
            event_ms = epoch_ms(info["E"], "E") if "E" in info else None
            envelopes.append(
                self.price_update(
                    ticker,
                    pair,
                    received_ms=received_ms,
                    key=key,
                    book_ticker=book_ticker,
                    event_ms=event_ms,
                )
            )
        require(bool(envelopes), "bad shape: ticker frame without a ticker")
        return ParseResult(envelopes)

    # --- order books ---------------------------------------------------------------------------

    def _symbol(self, market_id: Any) -> str:
        require(isinstance(market_id, str) and market_id != "", "bad shape: no symbol")
        return str(self._exchange.safe_market(market_id, None, None, "spot")["symbol"])

    def _depth_update(self, message: dict[str, Any], received_ms: int) -> ParseResult:
        symbol = self._symbol(message.get("s"))
        pair = self.pair_for(symbol)
        bids = read_levels(message.get("b", []), "bids")
        asks = read_levels(message.get("a", []), "asks")
        first, last = integer(message.get("U"), "U"), integer(message.get("u"), "u")
        require(first <= last, f"bad shape: U {first} > u {last}")
        event_ms = epoch_ms(message["E"], "E") if "E" in message else None
        result = ParseResult()
        quality = Quality()
        book = self._exchange.orderbooks.get(symbol)
        if book is None:
            self._pending[symbol].append(message)
            quality.lower("low", "no_snapshot")
            result.resnapshot = self.need_snapshot(pair)
        else:
            captured = self.handle(message)
            if captured.rejected:  # ccxt found a gap and dropped its book
                self._pending[symbol].append(message)
                quality.lower("low", "sequence_gap")
                result.resnapshot = self.need_snapshot(pair)
            elif not captured.resolved:
                # u <= lastUpdateId: already in the snapshot, ccxt ignores it. Still real data,
                # so published, but marked so that nobody applies it on top of the snapshot.
                quality.lower("low", "in_snapshot")
            elif is_crossed(book["bids"], book["asks"]):
                self._drop_book(symbol)
                quality.lower("low", "crossed_book")
                result.resnapshot = self.need_snapshot(pair)
            else:
                book_figures = figures(book["bids"], book["asks"])
                if book_figures is not None:
                    result.books[pair] = book_figures
        delta = OrderBookDelta(
            exchange=self.exchange,
            pair=pair,
            bids=bids,
            asks=asks,
            first_sequence=first,
            sequence=last,
        )
        result.envelopes.append(
            self.envelope(
                delta,
                received_ms=received_ms,
                event_ms=event_ms,
                key=(first, last),
                quality=quality,
            )
        )
        return result

    def _rest(self, body: Any, received_ms: int, url: str) -> ParseResult:
        parts = urlsplit(url)
        require(parts.path.endswith("/depth"), f"unknown channel: REST response from {url}")
        market_ids = parse_qs(parts.query).get("symbol", [])
        require(len(market_ids) == 1, f"bad shape: no symbol in {url}")
        require(isinstance(body, dict), "bad shape: depth snapshot is not an object")
        symbol = self._symbol(market_ids[0])
        pair = self.pair_for(symbol)
        nonce = integer(body.get("lastUpdateId"), "lastUpdateId")
        read_levels(body.get("bids"), "bids")  # strict check before ccxt reads them
        read_levels(body.get("asks"), "asks")
        event_ms = epoch_ms(body["T"], "T") if "T" in body else None
        parsed = self._exchange.parse_order_book(body, symbol, event_ms)
        parsed["nonce"] = nonce
        book = self._exchange.order_book(parsed)
        self._exchange.orderbooks[symbol] = book
        self.client.subscriptions[f"orderbook::{symbol}"] = {"symbol": symbol}
        self.got_snapshot(pair)
        result = ParseResult()
        quality = Quality()
        if is_crossed(book["bids"], book["asks"]):
            self._drop_book(symbol)
            quality.lower("low", "crossed_book")
            result.resnapshot = self.need_snapshot(pair)
        else:
            self._replay_pending(symbol, pair, result)
        snapshot = OrderBookSnapshot(
            exchange=self.exchange,
            pair=pair,
            sequence=nonce,
            bids=top(parsed["bids"], self.depth),
            asks=top(parsed["asks"], self.depth),
        )
        result.envelopes.append(
            self.envelope(
                snapshot,
                received_ms=received_ms,
                event_ms=event_ms,
                key=(nonce,),
                quality=quality,
                rest=True,
            )
        )
        return result

    def _replay_pending(self, symbol: str, pair: str, result: ParseResult) -> None:
        """Apply the updates that arrived before the snapshot (already published) to the book."""
        pending, self._pending[symbol] = self._pending[symbol], deque(maxlen=PENDING_LIMIT)
        for message in pending:
            if self.handle(message).rejected:
                self._pending[symbol].append(message)
                result.resnapshot = self.need_snapshot(pair)
                return
        book = self._exchange.orderbooks[symbol]
        if is_crossed(book["bids"], book["asks"]):
            self._drop_book(symbol)
            result.resnapshot = self.need_snapshot(pair)
            return
        book_figures = figures(book["bids"], book["asks"])
        if book_figures is not None:
            result.books[pair] = book_figures

    def _partial_depth(self, message: dict[str, Any], stream: str, received_ms: int) -> ParseResult:
        symbol = self._symbol(stream.split("@", 1)[0].upper())
        pair = self.pair_for(symbol)
        nonce = integer(message.get("lastUpdateId"), "lastUpdateId")
        bids = read_levels(message.get("bids"), "bids")
        asks = read_levels(message.get("asks"), "asks")
        snapshot = OrderBookSnapshot(
            exchange=self.exchange,
            pair=pair,
            sequence=nonce,
            bids=bids[: self.depth],
            asks=asks[: self.depth],
        )
        envelope = self.envelope(
            snapshot,
            received_ms=received_ms,
            event_ms=None,
            key=("partial", nonce),
            quality=Quality(),
        )
        return ParseResult([envelope])

    def _drop_book(self, symbol: str) -> None:
        self._exchange.orderbooks.pop(symbol, None)
        self.client.subscriptions.pop(f"orderbook::{symbol}", None)


def _error_text(message: dict[str, Any]) -> str | None:
    error = message.get("error")
    return None if error is None else f"venue error: {error}"
