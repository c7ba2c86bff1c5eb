"""Kraken websocket v1 frames → envelopes, parsed with ``ccxt.kraken``'s parsers.

v1 data frames are lists, ``[channelID, payload…, channelName, pair]``; events are objects
(v2 frames are read by ``kraken_v2.py``). ccxt 4.5's ``ccxt.pro.kraken`` handles only websocket
v2 (``{"channel": …, "data": …}``), so its ``handle_message`` cannot read v1. The v1 payloads
are, however, the REST shapes ccxt's ``kraken`` class parses: a v1 ticker is a
``/0/public/Ticker`` entry and a v1 trade a ``/0/public/Trades`` row. Those go through
``parse_ticker``/``parse_trade``; the book is ccxt's maintained ``order_book`` kept with the
venue's text, for the v1 checksum (``books.py``).

- ticker: ``[2500, {"a": ["0.000023630", 7289, "7289.86759215"], "b": […],
  "c": ["0.000023620", "25.10303887"], "v": ["1124742.6", "1125291.6"], "o": ["0.000022580",
  "0.000022500"], …}, "ticker", "ALGO/XBT"]`` → ``PriceUpdate`` (24 h values: index 1);
- trade: ``[321, [["58721.20000", "0.02798644", "1617666461.465618", "s", "m", ""]], "trade",
  "XBT/USD"]`` → one ``Trade`` per row (v1 trades have no id: the message id hashes the row);
- book: first ``{"as": […], "bs": […]}`` (snapshot), then ``{"a": […]}``/``{"b": […],
  "c": "3310070434"}`` updates, levels ``["58729.40000", "0.45000000", "1617666423.606671"]``
  (a 4th ``"r"`` marks a republished level) → ``OrderBookSnapshot``/``OrderBookDelta``; the
  book is cut to the subscribed depth (``book-1000``) and checked against ``c`` after each
  update; the event time is the newest level time in the frame;
- spread (Kraken's documented example; none was recorded): ``[id, ["5698.40000",
  "5700.00000", "1542057299.545897", "1.01234567", "0.98765432"], "spread", "XBT/USD"]`` →
  ``PriceUpdate`` at the mid (ccxt has no v1 parser for it);
- heartbeat, systemStatus, subscriptionStatus, pong: control frames.
"""

from __future__ import annotations

from typing import Any

from lucent_platform.connectors.base import Connector, ParseResult
from lucent_platform.connectors.books import (
    figures,
    is_crossed,
    kraken_checksum,
    read_levels,
    store_text_level,
    top,
)
from lucent_platform.connectors.envelopes import Quality, content_key
from lucent_platform.connectors.frames import (
    FrameError,
    integer,
    price,
    require,
    seconds_text_ms,
    size,
)
from lucent_platform.connectors.pairs import PairError, parse_symbol
from lucent_platform.messages import Liquidity, OrderBookDelta, OrderBookSnapshot, PriceUpdate

_CONTROL = {"heartbeat", "systemStatus", "subscriptionStatus", "pong"}
DEFAULT_BOOK_DEPTH = 10  # Kraken's default when the subscription names none


class KrakenV1(Connector):
    """Kraken websocket v1 public frames: ticker, trade, spread and book."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._by_wsname = {
            market["info"]["wsname"]: market
            for market in self._exchange.markets.values()
            if isinstance(market.get("info"), dict) and market["info"].get("wsname")
        }

    def _parse_v1(self, message: Any, received_ms: int) -> ParseResult:
        if isinstance(message, dict):
            return _event(message)
        require(isinstance(message, list), f"bad shape: {type(message).__name__} frame")
        require(len(message) >= 4, "bad shape: a v1 data frame has at least 4 items")
        channel, wsname = message[-2], message[-1]
        require(isinstance(channel, str) and isinstance(wsname, str), "bad shape: no channel")
        market = self._market(wsname)
        pair = self.pair_for(market["symbol"])
        payloads = message[1:-2]
        name = channel.split("-", 1)[0]
        if name == "ticker":
            return self._ticker(payloads[0], market, pair, received_ms)
        if name == "trade":
            return self._trades(payloads[0], market, pair, received_ms)
        if name == "spread":
            return self._spread(payloads[0], pair, received_ms)
        if name == "book":
            depth = integer(channel.split("-", 1)[1], "book depth") if "-" in channel else 0
            require(depth >= 0, f"bad shape: book depth {depth}")
            return self._book(payloads, market["symbol"], pair, depth, received_ms)
        if name == "ohlc":
            return ParseResult(skipped="ohlc: candles are not mapped to a message kind")
        raise FrameError(f"unknown channel: {channel!r}")

    def _market(self, wsname: str) -> dict[str, Any]:
        """The ccxt market of a v1 pair name (``XBT/USD``), or a plain one made from it."""
        market = self._by_wsname.get(wsname)
        if market is None:
            try:
                instrument = parse_symbol(wsname, self.exchange)
            except PairError as exc:
                raise FrameError(f"unknown pair: {exc}") from None
            symbol = f"{instrument.base}/{instrument.quote}"
            self._pairs_by_symbol[symbol] = instrument.pair  # codes already renamed once
            market = {
                "id": wsname,
                "symbol": symbol,
                "base": instrument.base,
                "quote": instrument.quote,
                "info": {"wsname": wsname},
            }
            self._by_wsname[wsname] = market
        return market

    def _ticker(
        self, payload: Any, market: dict[str, Any], pair: str, received_ms: int
    ) -> ParseResult:
        require(isinstance(payload, dict), "bad shape: ticker payload is not an object")
        opened = payload.get("o")
        # REST's "o" is one price (today's open); v1 sends [today, last 24 hours]. Take the 24 h
        # one, like ccxt takes index 1 (24 h) of "v" and "p", so the change is a 24 h change.
        ticker = self._exchange.parse_ticker(
            {**payload, "o": opened[1] if isinstance(opened, list) and len(opened) > 1 else opened},
            market,
        )
        envelope = self.price_update(
            ticker, pair, received_ms=received_ms, key=("ticker", content_key(payload))
        )
        return ParseResult([envelope])

    def _trades(
        self, payload: Any, market: dict[str, Any], pair: str, received_ms: int
    ) -> ParseResult:
        require(isinstance(payload, list) and bool(payload), "bad shape: trade payload")
        envelopes = []
        for index, row in enumerate(payload):
            require(isinstance(row, list) and len(row) >= 5, f"bad shape: trade row {row!r}")
            require(row[3] in ("b", "s"), f"bad shape: trade side {row[3]!r}")
            price(row[0], "trade price")  # strict checks before ccxt reads them
            price(row[1], "trade volume")
            trade = self._exchange.parse_trade(row, market)
            # ccxt's timestamp is int(float(seconds) * 1000), which can lose a millisecond to
            # binary rounding; the event time is read from the digits instead
            event_ms = seconds_text_ms(row[2], "trade time")
            key = (index, content_key(row))
            envelopes.append(
                self.trade(trade, pair, received_ms=received_ms, key=key, event_ms=event_ms)
            )
        return ParseResult(envelopes)

    def _spread(self, payload: Any, pair: str, received_ms: int) -> ParseResult:
        require(isinstance(payload, list) and len(payload) >= 5, "bad shape: spread payload")
        bid, ask = price(payload[0], "bid"), price(payload[1], "ask")
        liquidity = Liquidity(
            bid_size=size(payload[3], "bid size"), ask_size=size(payload[4], "ask size")
        )
        data = PriceUpdate(
            exchange=self.exchange,
            pair=pair,
            price=(bid + ask) / 2,
            bid=bid,
            ask=ask,
            spread=ask - bid,
            liquidity=liquidity,
        )
        envelope = self.envelope(
            data,
            received_ms=received_ms,
            event_ms=seconds_text_ms(payload[2], "spread time"),
            key=("spread", content_key(payload)),
            quality=Quality(),
        )
        return ParseResult([envelope])

    def _book(
        self, payloads: list[Any], symbol: str, pair: str, depth: int, received_ms: int
    ) -> ParseResult:
        require(all(isinstance(p, dict) for p in payloads), "bad shape: book payload")
        if any("as" in p or "bs" in p for p in payloads):
            return self._book_snapshot(payloads, symbol, pair, depth, received_ms)
        asks = [level for p in payloads for level in _text_levels(p.get("a", []), "asks")]
        bids = [level for p in payloads for level in _text_levels(p.get("b", []), "bids")]
        require(bool(asks or bids), "bad shape: book update without levels")
        checksums = [p["c"] for p in payloads if "c" in p]
        result = ParseResult()
        quality = Quality()
        book = self._exchange.orderbooks.get(symbol)
        if book is None:
            quality.lower("low", "no_snapshot")
            result.resnapshot = self.need_snapshot(pair)
        else:
            for level in asks:
                store_text_level(book["asks"], level[0], level[1])
            for level in bids:
                store_text_level(book["bids"], level[0], level[1])
            book.limit()  # Kraken does not delete levels that fall below the subscribed depth
            problem = None
            if checksums and kraken_checksum(book["asks"], book["bids"]) != integer(
                checksums[-1], "checksum"
            ):
                problem = "checksum_mismatch"
            elif is_crossed(book["bids"], book["asks"]):
                problem = "crossed_book"
            if problem is not None:
                self._exchange.orderbooks.pop(symbol, None)
                quality.lower("low", problem)
                result.resnapshot = self.need_snapshot(pair)
            elif (book_figures := figures(book["bids"], book["asks"])) is not None:
                result.books[pair] = book_figures
        delta = OrderBookDelta(
            exchange=self.exchange, pair=pair, bids=_levels(bids), asks=_levels(asks)
        )
        envelope = self.envelope(
            delta,
            received_ms=received_ms,
            event_ms=_newest(asks + bids),
            key=("update", content_key(payloads)),
            quality=quality,
        )
        result.envelopes.append(envelope)
        return result

    def _book_snapshot(
        self, payloads: list[Any], symbol: str, pair: str, depth: int, received_ms: int
    ) -> ParseResult:
        asks = [level for p in payloads for level in _text_levels(p.get("as", []), "asks")]
        bids = [level for p in payloads for level in _text_levels(p.get("bs", []), "bids")]
        book = self._exchange.order_book({}, depth or DEFAULT_BOOK_DEPTH)
        for level in asks:
            store_text_level(book["asks"], level[0], level[1])
        for level in bids:
            store_text_level(book["bids"], level[0], level[1])
        book.limit()
        self._exchange.orderbooks[symbol] = book
        self.got_snapshot(pair)
        result = ParseResult()
        quality = Quality()
        if is_crossed(book["bids"], book["asks"]):
            self._exchange.orderbooks.pop(symbol, None)
            quality.lower("low", "crossed_book")
            result.resnapshot = self.need_snapshot(pair)
        elif (book_figures := figures(book["bids"], book["asks"])) is not None:
            result.books[pair] = book_figures
        snapshot = OrderBookSnapshot(
            exchange=self.exchange,
            pair=pair,
            bids=top(book["bids"], self.depth),
            asks=top(book["asks"], self.depth),
        )
        envelope = self.envelope(
            snapshot,
            received_ms=received_ms,
            event_ms=_newest(asks + bids),
            key=("snapshot", content_key(payloads)),
            quality=quality,
        )
        result.envelopes.append(envelope)
        return result


def _event(message: dict[str, Any]) -> ParseResult:
    event = message.get("event")
    if not isinstance(event, str) or event not in _CONTROL:
        raise FrameError(f"unknown channel: event {event!r}")
    error = message.get("errorMessage")
    return ParseResult(control=True, skipped=f"venue error: {error}" if error else None)


def _text_levels(raw: Any, what: str) -> list[list[str]]:
    """Book levels as sent, ``[price, volume, time, ("r")]`` text, checked."""
    read_levels(raw, what)
    require(all(isinstance(v, str) for level in raw for v in level[:3]), f"bad levels: {what}")
    require(all(len(level) >= 3 for level in raw), f"bad levels: {what} without times")
    return [list(level) for level in raw]


def _levels(levels: list[list[str]]) -> list[tuple[float, float]]:
    return [(float(level[0]), float(level[1])) for level in levels]


def _newest(levels: list[list[str]]) -> int | None:
    times = [seconds_text_ms(level[2], "level time") for level in levels]
    return max(times) if times else None
