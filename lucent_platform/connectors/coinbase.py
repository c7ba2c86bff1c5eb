"""Coinbase Exchange frames → envelopes, parsed by ``ccxt.pro.coinbaseexchange``.

The Coinbase Exchange feed (``ws-feed.exchange.coinbase.com``, formerly Coinbase Pro; not the
Advanced Trade API, whose formats differ). Kinds:

- ``ticker`` → ``PriceUpdate``: ``{"type": "ticker", "sequence": 333938798,
  "product_id": "BAND-GBP", "price": "14.7775", "open_24h": "14.6647",
  "volume_24h": "94381.28000000", "best_bid": "14.7550", "best_ask": "14.8060",
  "time": "2021-04-17T16:43:30.244075Z", "trade_id": 881613, "last_size": "0.04", …}``
  (``best_bid_size``/``best_ask_size`` only in newer frames; change24h from ``open_24h``);
- ``match``/``last_match`` → ``Trade``. ``side`` in the frame is the *maker's* order side;
  ccxt turns it into the taker's, which is what ``Trade.side`` means (a ``"sell"`` maker order
  filled by a buyer is a ``buy``). ``last_match`` (sent once on subscribe) is the same trade as
  an earlier ``match``, so it gets the same message id;
- ``snapshot`` → ``OrderBookSnapshot`` and a maintained book; ``l2update`` →
  ``OrderBookDelta``: ``{"type": "l2update", "product_id": "SKL-USD",
  "changes": [["buy", "0.7885", "0.0"]], "time": "2021-04-17T16:43:37.077621Z"}``. The level2
  channel has no sequence numbers, so gaps cannot be seen; crossed books still are.
- ``subscriptions``/``heartbeat`` are control frames; ``error`` frames are control frames
  with the venue's reason in ``skipped``.
"""

from __future__ import annotations

from typing import Any

from lucent_platform.connectors.base import Connector, ParseResult
from lucent_platform.connectors.books import figures, is_crossed, read_levels, top
from lucent_platform.connectors.envelopes import Quality, content_key
from lucent_platform.connectors.exchanges import ensure_market
from lucent_platform.connectors.frames import FrameError, integer, price, require, size
from lucent_platform.connectors.pairs import PairError, parse_symbol
from lucent_platform.envelope import iso_to_ms
from lucent_platform.messages import OrderBookDelta, OrderBookSnapshot, PriceLevel

_CONTROL = {"subscriptions", "heartbeat", "status"}
_FULL_CHANNEL = {"received", "open", "done", "change", "activate"}


class CoinbaseConnector(Connector):
    """Coinbase Exchange websocket frames (``ticker``, ``matches``, ``level2`` channels)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sequences: dict[str, int] = {}  # last l2update sequence per symbol, where sent

    def _parse(self, message: Any, received_ms: int, url: str | None) -> ParseResult:
        require(isinstance(message, dict), f"bad shape: {type(message).__name__} frame")
        kind = message.get("type")
        require(isinstance(kind, str), f"bad shape: type {kind!r}")
        if kind in _CONTROL:
            return ParseResult(control=True)
        if kind == "error":
            return ParseResult(control=True, skipped=f"venue error: {message.get('message')}")
        if kind in _FULL_CHANNEL:
            return ParseResult(skipped=f"{kind}: the full (level 3) channel is not mapped")
        if kind not in ("ticker", "match", "last_match", "snapshot", "l2update"):
            raise FrameError(f"unknown channel: type {kind!r}")
        symbol = self._market(message.get("product_id"))
        pair = self.pair_for(symbol)
        event_ms = _time_ms(message["time"]) if "time" in message else None
        if kind == "ticker":
            return self._ticker(message, pair, event_ms, received_ms)
        if kind in ("match", "last_match"):
            return self._trade(message, pair, received_ms)
        if kind == "snapshot":
            return self._snapshot(message, symbol, pair, received_ms)
        return self._l2update(message, symbol, pair, event_ms, received_ms)

    def _market(self, product_id: Any) -> str:
        """The ccxt symbol of a product, registering products missing from the markets."""
        require(isinstance(product_id, str) and product_id != "", "bad shape: no product_id")
        try:
            instrument = parse_symbol(product_id, self.exchange)
        except PairError as exc:
            raise FrameError(f"unknown pair: {exc}") from None
        return ensure_market(self._exchange, product_id, instrument.base, instrument.quote)

    def _ticker(
        self, message: dict[str, Any], pair: str, event_ms: int | None, received_ms: int
    ) -> ParseResult:
        price(message.get("price"), "price")  # strict check before ccxt reads it
        tickers = self.handle(message).values("ticker:")
        require(len(tickers) == 1, "bad shape: ticker frame without a ticker")
        key = ("ticker", message.get("sequence") or content_key(message))
        envelope = self.price_update(
            tickers[0], pair, received_ms=received_ms, key=key, event_ms=event_ms
        )
        return ParseResult([envelope])

    def _trade(self, message: dict[str, Any], pair: str, received_ms: int) -> ParseResult:
        price(message.get("price"), "price")  # strict check before ccxt reads them
        price(message.get("size"), "size")
        # ccxt knows only "match"; a last_match is a match sent again on subscribe
        captured = self.handle({**message, "type": "match"})
        trades = [trade for cache in captured.values("matches:") for trade in cache]
        require(len(trades) == 1, "bad shape: match frame without a trade")
        key = (trades[0]["id"] or content_key(message),)
        return ParseResult([self.trade(trades[0], pair, received_ms=received_ms, key=key)])

    def _snapshot(
        self, message: dict[str, Any], symbol: str, pair: str, received_ms: int
    ) -> ParseResult:
        read_levels(message.get("bids"), "bids")  # strict check before ccxt reads them
        read_levels(message.get("asks"), "asks")
        self.handle(message)
        book = self._exchange.orderbooks[symbol]
        self.got_snapshot(pair)
        if "sequence" in message:
            self._sequences[symbol] = integer(message["sequence"], "sequence")
        else:
            self._sequences.pop(symbol, None)
        result = ParseResult()
        quality = Quality()
        if is_crossed(book["bids"], book["asks"]):
            self._exchange.orderbooks.pop(symbol, None)
            quality.lower("low", "crossed_book")
            result.resnapshot = self.need_snapshot(pair)
        elif (book_figures := figures(book["bids"], book["asks"])) is not None:
            result.books[pair] = book_figures
        bids, asks = top(book["bids"], self.depth), top(book["asks"], self.depth)
        snapshot = OrderBookSnapshot(exchange=self.exchange, pair=pair, bids=bids, asks=asks)
        key = ("snapshot", content_key([message.get("bids"), message.get("asks")]))
        result.envelopes.append(
            self.envelope(
                snapshot, received_ms=received_ms, event_ms=None, key=key, quality=quality
            )
        )
        return result

    def _l2update(
        self,
        message: dict[str, Any],
        symbol: str,
        pair: str,
        event_ms: int | None,
        received_ms: int,
    ) -> ParseResult:
        bids, asks = _changes(message.get("changes"))
        # the 2021 level2 feed has no sequence; where a frame has one it is gap-checked
        sequence = integer(message["sequence"], "sequence") if "sequence" in message else None
        result = ParseResult()
        quality = Quality()
        book = self._exchange.orderbooks.get(symbol)
        last = self._sequences.get(symbol)
        if book is not None and sequence is not None and last is not None and sequence > last + 1:
            self._exchange.orderbooks.pop(symbol, None)
            quality.lower("low", "sequence_gap")
            result.resnapshot = self.need_snapshot(pair)
        elif book is None:
            quality.lower("low", "no_snapshot")
            result.resnapshot = self.need_snapshot(pair)
        else:
            self.handle(message)
            if is_crossed(book["bids"], book["asks"]):
                self._exchange.orderbooks.pop(symbol, None)
                quality.lower("low", "crossed_book")
                result.resnapshot = self.need_snapshot(pair)
            elif (book_figures := figures(book["bids"], book["asks"])) is not None:
                result.books[pair] = book_figures
        if sequence is not None:
            self._sequences[symbol] = sequence
        delta = OrderBookDelta(
            exchange=self.exchange,
            pair=pair,
            bids=bids,
            asks=asks,
            first_sequence=sequence,
            sequence=sequence,
        )
        natural = sequence if sequence is not None else content_key(message.get("changes"))
        key = ("l2update", message.get("time"), natural)
        result.envelopes.append(
            self.envelope(
                delta, received_ms=received_ms, event_ms=event_ms, key=key, quality=quality
            )
        )
        return result


def _changes(raw: Any) -> tuple[list[PriceLevel], list[PriceLevel]]:
    """``[["buy", "0.7885", "0.0"], …]`` → (bids, asks) in frame order, checked."""
    require(isinstance(raw, list) and bool(raw), "bad shape: l2update without changes")
    bids: list[PriceLevel] = []
    asks: list[PriceLevel] = []
    for change in raw:
        require(isinstance(change, list) and len(change) == 3, f"bad levels: change {change!r}")
        side, level = change[0], (price(change[1], "change price"), size(change[2], "change size"))
        require(side in ("buy", "sell"), f"bad levels: change side {side!r}")
        (bids if side == "buy" else asks).append(level)
    return bids, asks


def _time_ms(value: Any) -> int:
    """Coinbase ``"2021-04-17T16:43:37.077621Z"`` → epoch ms (microseconds truncated)."""
    require(isinstance(value, str), f"bad time: {value!r}")
    try:
        return iso_to_ms(value.replace("Z", "+00:00"))
    except ValueError:
        raise FrameError(f"bad time: {value!r}") from None
