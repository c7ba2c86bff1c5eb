"""Kraken websocket v2 frames → envelopes, parsed by ``ccxt.pro.kraken``'s own v2 handlers.

v2 (``wss://ws.kraken.com/v2``) is what ccxt.pro 4.5 subscribes to (``{"method": "subscribe",
"params": {"channel": "ticker", "symbol": ["BTC/USD"]}}``), so it is what the live feed
receives. Data frames are ``{"channel": …, "type": "snapshot"|"update", "data": [entry, …]}``;
each entry is handed to ``handle_message`` on its own (ccxt reads only ``data[0]`` of tickers
and books, and sorts a frame's trades), with its ``symbol`` replaced by the market's ccxt
symbol. Kinds:

- ticker: ``{"channel": "ticker", "type": "snapshot", "data": [{"symbol": "ALGO/USD",
  "bid": 0.10025, "bid_qty": 740.0, "ask": 0.10036, "ask_qty": 1361.44813783, "last":
  0.10035, "volume": 997038.98383185, "vwap": 0.10148, "low": 0.09979, "high": 0.10285,
  "change": -0.00017, "change_pct": -0.17, "timestamp": "2023-09-25T09:04:31.742648Z"}]}`` →
  ``PriceUpdate`` (24 h volume and change; Kraken's older frames have no ``timestamp``);
- trade: ``{"channel": "trade", "type": "update", "data": [{"symbol": "MATIC/USD", "side":
  "sell", "price": 0.5117, "qty": 40.0, "ord_type": "market", "trade_id": 4665906,
  "timestamp": "2023-09-25T07:49:37.708706Z"}]}`` → one ``Trade`` per entry, message id from
  ``trade_id`` (a sequence per pair), ``side`` the taker's;
- book: ``kraken_v2_book.py``;
- ``heartbeat`` and ``status`` channels, and ``subscribe``/``unsubscribe``/``pong`` method
  responses, are control frames (a failed request's ``error`` in ``skipped``).

v2 names pairs ``BTC/USD`` where v1 and AssetPairs' ``wsname`` say ``XBT/USD``. A symbol is
found among the markets by its ``wsname`` (as sent, or with ``XBT``/``XDG`` read as
``BTC``/``DOGE``), then as a ccxt symbol: not by ccxt symbol first, as ccxt's handlers do,
because ccxt lists Kraken's dark-pool twin (``XXBTZUSD.d``, other decimals) under ``BTC/USD``
too. A pair missing from the markets is registered as a plain market named with ccxt's
currency codes, so it parses identically.
"""

from __future__ import annotations

from typing import Any

from lucent_platform.connectors.base import ParseResult
from lucent_platform.connectors.envelopes import content_key
from lucent_platform.connectors.exchanges import ensure_market
from lucent_platform.connectors.frames import (
    FrameError,
    integer,
    number,
    price,
    require,
    size,
)
from lucent_platform.connectors.kraken_v2_book import KrakenV2Books, v2_time
from lucent_platform.connectors.pairs import PairError, parse_symbol

_CONTROL_CHANNELS = {"heartbeat", "status"}
_CONTROL_METHODS = {"subscribe", "unsubscribe", "pong"}
_SKIPPED = {
    "ohlc": "ohlc: candles are not mapped to a message kind",
    "instrument": "instrument: reference data is not mapped to a message kind",
    "level3": "level3: the order-by-order book is not mapped to a message kind",
}
_V2_CODES = {"XBT": "BTC", "XDG": "DOGE"}  # where v2 pair names differ from v1's wsname
_TICKER_NUMBERS = ("bid", "ask", "last", "vwap", "low", "high", "change", "change_pct")
_TICKER_SIZES = ("bid_qty", "ask_qty", "volume")


class KrakenV2(KrakenV2Books):
    """Kraken websocket v2 public frames: ticker, trade and book channels."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._by_v2_name: dict[str, dict[str, Any]] = {}
        # markets_by_id holds every market, also those a same-symbol twin hides in ``markets``
        for markets in (self._exchange.markets_by_id or {}).values():
            for market in markets:
                info = market.get("info")
                wsname = info.get("wsname") if isinstance(info, dict) else None
                if isinstance(wsname, str) and "/" in wsname:
                    self._by_v2_name.setdefault(wsname, market)
                    self._by_v2_name.setdefault(_v2_name(wsname), market)

    def _parse_v2(self, message: dict[str, Any], received_ms: int) -> ParseResult:
        if "channel" not in message:
            return self._v2_response(message)
        channel = message["channel"]
        require(isinstance(channel, str), f"bad shape: channel {channel!r}")
        if channel in _CONTROL_CHANNELS:
            return ParseResult(control=True)
        if channel in _SKIPPED:
            return ParseResult(skipped=_SKIPPED[channel])
        if channel not in ("ticker", "trade", "book"):
            raise FrameError(f"unknown channel: {channel!r}")
        kind, data = message.get("type"), message.get("data")
        if not isinstance(kind, str) or kind not in ("snapshot", "update"):
            raise FrameError(f"bad shape: type {kind!r}")
        if not isinstance(data, list) or not data:
            raise FrameError("bad shape: no data")
        result = ParseResult()
        for entry in data:
            require(isinstance(entry, dict), "bad shape: data entry is not an object")
            market = self._v2_market(entry.get("symbol"))
            pair = self.pair_for(market["symbol"])
            if channel == "ticker":
                part = self._v2_ticker(kind, entry, market["symbol"], pair, received_ms)
            elif channel == "trade":
                part = self._v2_trade(kind, entry, market["symbol"], pair, received_ms)
            else:
                part = self._v2_book(kind, entry, market, pair, received_ms)
            result.envelopes += part.envelopes
            result.resnapshot += [p for p in part.resnapshot if p not in result.resnapshot]
            result.books.update(part.books)
        return result

    def _v2_response(self, message: dict[str, Any]) -> ParseResult:
        """A response to one of our requests: ``{"method": "subscribe", "success": true, …}``."""
        method = message.get("method")
        require(method in _CONTROL_METHODS, f"unknown channel: method {method!r}")
        success = message.get("success", True)  # a pong carries none
        require(isinstance(success, bool), f"bad shape: success {success!r}")
        if not success:
            return ParseResult(control=True, skipped=f"venue error: {message.get('error')}")
        if method == "subscribe":
            self.v2_book_subscribed(message.get("result"))
        return ParseResult(control=True)

    def _v2_market(self, symbol: Any) -> dict[str, Any]:
        """The ccxt market of a v2 pair name, registering a plain one for an unknown pair."""
        require(isinstance(symbol, str) and symbol != "", f"bad shape: symbol {symbol!r}")
        market = self._by_v2_name.get(symbol) or (self._exchange.markets or {}).get(symbol)
        if market is None:
            try:
                instrument = parse_symbol(symbol, self.exchange)
            except PairError as exc:
                raise FrameError(f"unknown pair: {exc}") from None
            unified = f"{instrument.base}/{instrument.quote}"
            market = (self._exchange.markets or {}).get(unified)
            if market is None:
                ensure_market(self._exchange, symbol, instrument.base, instrument.quote)
                market = self._exchange.markets[unified]
            self._by_v2_name[symbol] = market
        return market

    def _v2_ticker(
        self, kind: str, entry: dict[str, Any], symbol: str, pair: str, received_ms: int
    ) -> ParseResult:
        for name in _TICKER_NUMBERS + _TICKER_SIZES:  # strict checks before ccxt reads them
            if entry.get(name) is not None:
                (size if name in _TICKER_SIZES else number)(entry[name], name)
        event_ms = v2_time(entry["timestamp"]) if "timestamp" in entry else None
        frame = {"channel": "ticker", "type": kind, "data": [{**entry, "symbol": symbol}]}
        tickers = self.handle(frame).values("ticker@")
        require(len(tickers) == 1, "bad shape: ticker frame without a ticker")
        envelope = self.price_update(
            tickers[0],
            pair,
            received_ms=received_ms,
            key=("ticker", content_key(entry)),
            event_ms=event_ms,
        )
        return ParseResult([envelope])

    def _v2_trade(
        self, kind: str, entry: dict[str, Any], symbol: str, pair: str, received_ms: int
    ) -> ParseResult:
        price(entry.get("price"), "trade price")  # strict checks before ccxt reads them
        price(entry.get("qty"), "trade qty")
        require(entry.get("side") in ("buy", "sell"), f"bad shape: side {entry.get('side')!r}")
        trade_id = integer(entry.get("trade_id"), "trade_id")
        # ccxt's parse8601 gives the same ms; ours rejects a malformed time instead of None
        event_ms = v2_time(entry.get("timestamp"))
        self._exchange.trades.pop(symbol, None)  # ccxt appends to a per-symbol cache
        frame = {"channel": "trade", "type": kind, "data": [{**entry, "symbol": symbol}]}
        trades = [trade for cache in self.handle(frame).values("trade@") for trade in cache]
        require(len(trades) == 1, "bad shape: trade frame without a trade")
        envelope = self.trade(
            trades[0], pair, received_ms=received_ms, key=(trade_id,), event_ms=event_ms
        )
        return ParseResult([envelope])


def _v2_name(wsname: str) -> str:
    """AssetPairs' ``wsname`` as v2 writes it: ``XBT/USD`` → ``BTC/USD``."""
    base, _, quote = wsname.partition("/")
    return f"{_V2_CODES.get(base, base)}/{_V2_CODES.get(quote, quote)}"
