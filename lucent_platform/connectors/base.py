"""The connector contract: a raw frame in, envelopes out, never an exception.

A ``Connector`` per venue is a stateful parser: it holds a ccxt.pro exchange (built offline, see
``exchanges.py``) whose handlers do the venue parsing, a capturing client that collects what the
handlers resolve (``capture.py``), and the maintained order books. It does no I/O, so the live
feed, the replayer and the tests drive the very same code; the live feed learns from
``ParseResult.resnapshot`` which books to fetch again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lucent_platform.connectors.books import BookFigures
from lucent_platform.connectors.capture import Captured, CapturingClient
from lucent_platform.connectors.envelopes import Quality, wrap
from lucent_platform.connectors.exchanges import Venue, build_exchange, ws_url
from lucent_platform.connectors.frames import (
    MAX_EPOCH_MS,
    FrameError,
    RawFrame,
    decode_message,
    epoch_ms,
    number,
    price,
    size,
)
from lucent_platform.connectors.pairs import PairError, normalize_pair
from lucent_platform.envelope import Envelope
from lucent_platform.messages import Liquidity, PriceUpdate, Trade

if TYPE_CHECKING:
    import ccxt.pro

DEFAULT_DEPTH = 25  # levels per side in published snapshots


@dataclass
class ParseResult:
    """What one frame gave.

    ``envelopes`` in frame order; ``resnapshot`` the pairs whose book must be fetched again
    (listed once, when the need arises: first delta without a book, sequence gap, crossed book,
    checksum mismatch); ``rejected`` why the frame was unusable (``"<category>: <details>"``);
    ``control`` for frames without market data (heartbeats, subscription acks); ``skipped`` why
    a well-formed frame gave nothing (a kline, a rolling 1 h ticker, a pair not configured);
    ``books`` the maintained-book figures of the pairs the frame touched.
    """

    envelopes: list[Envelope[Any]] = field(default_factory=list)
    resnapshot: list[str] = field(default_factory=list)
    rejected: str | None = None
    control: bool = False
    skipped: str | None = None
    books: dict[str, BookFigures] = field(default_factory=dict)


class Connector:
    """Parses one venue's frames; create with ``connector_for(exchange)``."""

    exchange: str

    def __init__(
        self,
        venue: Venue,
        *,
        markets: object = None,
        pairs: Iterable[str] | None = None,
        depth: int = DEFAULT_DEPTH,
    ) -> None:
        self.venue = venue
        self.exchange = venue.id
        self.depth = depth
        self.pairs = frozenset(normalize_pair(p) for p in pairs) if pairs is not None else None
        self._exchange = build_exchange(venue, markets)
        self.client = CapturingClient(ws_url(self._exchange, venue))
        self._pairs_by_symbol: dict[str, str] = {}
        self._signalled: set[str] = set()  # pairs already listed in a resnapshot

    def ccxt(self) -> ccxt.pro.Exchange:
        """The ccxt.pro instance (URLs, subscribe logic); its markets are already set."""
        return self._exchange

    def parse(self, frame: RawFrame) -> ParseResult:
        """Turn one frame into envelopes; bad input gives ``rejected``, never an exception."""
        try:
            if frame.exchange != self.exchange:
                raise FrameError(f"wrong exchange: {frame.exchange!r} frame for {self.exchange}")
            received_ms = _received_ms(frame.received_ns)
            result = self._parse(decode_message(frame.message), received_ms, frame.url)
        except FrameError as exc:
            result = ParseResult(rejected=str(exc))
        except Exception as exc:  # ccxt's handlers raise anything on malformed input
            result = ParseResult(rejected=f"unparseable: {type(exc).__name__}: {exc}")
        finally:
            self._forget_parsed()
        return self._only_configured(result)

    def _parse(self, message: Any, received_ms: int, url: str | None) -> ParseResult:
        raise NotImplementedError

    # --- helpers for the venue classes ----------------------------------------------------

    def handle(self, message: Any) -> Captured:
        """Run ccxt's ``handle_message`` on one message; what it resolved/rejected."""
        self.client.take()
        self._exchange.handle_message(self.client, message)
        return self.client.take()

    def pair_for(self, symbol: str) -> str:
        """Our pair for a ccxt symbol, or for the raw id ccxt returns for an unknown market."""
        pair = self._pairs_by_symbol.get(symbol)
        if pair is None:
            # a market's symbol already has ccxt's currency codes: renaming it again would turn
            # Kraken's LUNA (ccxt's name for LUNA2) into LUNC; raw ids get the venue's renames
            known = symbol in (self._exchange.markets or {})
            try:
                pair = normalize_pair(symbol, None if known else self.exchange)
            except PairError as exc:
                raise FrameError(f"unknown pair: {exc}") from None
            self._pairs_by_symbol[symbol] = pair
        return pair

    def need_snapshot(self, pair: str) -> list[str]:
        """``[pair]`` the first time its book is missing, then ``[]`` until a snapshot comes."""
        if pair in self._signalled:
            return []
        self._signalled.add(pair)
        return [pair]

    def got_snapshot(self, pair: str) -> None:
        self._signalled.discard(pair)

    def envelope(self, data: Any, **kwargs: Any) -> Envelope[Any]:
        return wrap(data, exchange=self.exchange, **kwargs)

    def price_update(
        self,
        ticker: dict[str, Any],
        pair: str,
        *,
        received_ms: int,
        key: tuple[object, ...],
        book_ticker: bool = False,
        event_ms: int | None = None,
    ) -> Envelope[Any]:
        """A ccxt unified ticker as a ``PriceUpdate``.

        Full tickers: price = last, 24 h base volume and percent change. Book tickers (best
        bid/ask only): price = mid, no 24 h statistics (None, not a made-up zero).
        """
        bid = _optional(ticker.get("bid"), price, "bid")
        ask = _optional(ticker.get("ask"), price, "ask")
        bid_size = _optional(ticker.get("bidVolume"), size, "bid size")
        ask_size = _optional(ticker.get("askVolume"), size, "ask size")
        liquidity = None
        if bid_size is not None and ask_size is not None:
            liquidity = Liquidity(bid_size=bid_size, ask_size=ask_size)
        quality = Quality()
        if book_ticker:
            if bid is None or ask is None:
                raise FrameError("missing field: a book ticker needs bid and ask")
            value, volume, change = (bid + ask) / 2, None, None
            quality.missing(liquidity=liquidity)
        else:
            last = _optional(ticker.get("last"), price, "last price")
            volume = _optional(ticker.get("baseVolume"), size, "24h volume")
            change = _optional(ticker.get("percentage"), number, "24h change")
            if last is None:
                if bid is None or ask is None:
                    raise FrameError("missing field: a ticker needs a last price or bid and ask")
                last = (bid + ask) / 2
                quality.lower("medium", "missing:last")
            value = last
            quality.missing(bid=bid, ask=ask, liquidity=liquidity, volume24h=volume)
            quality.missing(change24h=change)
        data = PriceUpdate(
            exchange=self.exchange,
            pair=pair,
            price=value,
            volume24h=volume,
            change24h=change,
            bid=bid,
            ask=ask,
            spread=ask - bid if bid is not None and ask is not None else None,
            liquidity=liquidity,
        )
        if event_ms is None and ticker.get("timestamp") is not None:
            event_ms = _epoch(ticker["timestamp"])
        return self.envelope(
            data, received_ms=received_ms, event_ms=event_ms, key=key, quality=quality
        )

    def trade(
        self,
        trade: dict[str, Any],
        pair: str,
        *,
        received_ms: int,
        key: tuple[object, ...],
        event_ms: int | None = None,
    ) -> Envelope[Any]:
        """A ccxt unified trade as a ``Trade`` (``side`` is the taker's, as ccxt gives it)."""
        side = trade.get("side")
        trade_id = trade.get("id")
        data = Trade(
            exchange=self.exchange,
            pair=pair,
            price=price(trade.get("price"), "trade price"),
            amount=price(trade.get("amount"), "trade amount"),
            trade_id=str(trade_id) if trade_id is not None else None,
            side=side if side in ("buy", "sell") else None,
        )
        quality = Quality().missing(side=data.side, tradeId=data.trade_id)
        if event_ms is None and trade.get("timestamp") is not None:
            event_ms = _epoch(trade["timestamp"])
        return self.envelope(
            data, received_ms=received_ms, event_ms=event_ms, key=key, quality=quality
        )

    # --- internals ---------------------------------------------------------------------------

    def _forget_parsed(self) -> None:
        # ccxt keeps the last 1000 trades and every ticker per symbol for its watch_* callers;
        # we take each frame's values as they are resolved, so starting empty keeps resolved
        # trade caches to exactly one frame's trades and memory flat.
        self._exchange.trades = {}
        self._exchange.tickers = {}
        self._exchange.bidsasks = {}
        self._exchange.ohlcvs = {}
        self.client.take()

    def _only_configured(self, result: ParseResult) -> ParseResult:
        if self.pairs is None:
            return result
        kept = [e for e in result.envelopes if e.data.pair in self.pairs]
        if result.envelopes and not kept:
            result.skipped = "pair not configured"
        result.envelopes = kept
        result.resnapshot = [p for p in result.resnapshot if p in self.pairs]
        result.books = {p: f for p, f in result.books.items() if p in self.pairs}
        return result


def _received_ms(received_ns: Any) -> int:
    if isinstance(received_ns, bool) or not isinstance(received_ns, int):
        raise FrameError(f"bad time: received_ns is {received_ns!r}")
    received_ms = received_ns // 1_000_000
    if not 0 <= received_ms <= MAX_EPOCH_MS:
        raise FrameError(f"bad time: received_ns {received_ns} is out of range")
    return received_ms


def _epoch(value: Any) -> int:
    return epoch_ms(value, "venue timestamp")


def _optional(value: Any, read: Any, what: str) -> Any:
    return None if value is None else read(value, what)
