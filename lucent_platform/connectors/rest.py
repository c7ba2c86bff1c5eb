"""Exchanges' REST history through ccxt: a day of candles or trades, page by page.

``RestHistory("binance")`` builds ccxt's synchronous class of the venue (``exchanges.VENUES``)
with ccxt's rate limiter on (``enableRateLimit``: requests are spaced by the venue's
``rateLimit`` times each endpoint's cost, e.g. 50 ms × 2 for Binance klines) and a request
timeout, its public REST URL optionally pointed elsewhere (``LUCENT_EXCHANGE_URLS``
``{"binance": {"rest": …}}``, or a local server replaying recorded responses in tests). Markets
come from the venue itself (``fetch_markets``, one request) the first time they are needed, so
instruments listed after our shipped snapshots still resolve.

The walk over the day is ``lucent_platform.history.paging``; this module only sends what the
pager asks for. ccxt's own parsers turn the answers into unified candles and trades. Every
failure is a ``HistoryUnavailable`` whose message says which venue, which URL and why: offline,
the first request fails within the timeout with "cannot reach …", it never hangs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lucent_platform.connectors.exchanges import venue_for
from lucent_platform.history.days import Window
from lucent_platform.history.instruments import InstrumentKey
from lucent_platform.history.paging import CandlePager, TradePager

if TYPE_CHECKING:
    import ccxt

DEFAULT_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class RestLimits:
    """What a venue's history endpoints allow (their documented maxima)."""

    candle_limit: int  # candles per request
    trade_limit: int  # trades per request
    trade_span_ms: int | None  # longest time range of one trades request; None: no ``until``
    candle_until: bool = True  # the candles endpoint takes an end time (ccxt ``until``)
    candle_bounded: bool = False  # a candles request may span at most `candle_limit` intervals
    trades_by_time: bool = True  # False: the API pages trades by id only


LIMITS: dict[str, RestLimits] = {
    # Binance: klines ≤ 1000; aggTrades ≤ 1000 and at most one hour between start and end
    "binance": RestLimits(1000, 1000, 3_600_000),
    "binanceus": RestLimits(1000, 1000, 3_600_000),
    # Kraken: OHLC answers ≤ 720 candles; Trades ≤ 1000 from `since` on
    "kraken": RestLimits(720, 1000, None, candle_until=False),
    # Coinbase Exchange: candles ≤ 300 per request; trades only by id cursor (after/before)
    "coinbase": RestLimits(300, 100, None, candle_bounded=True, trades_by_time=False),
}


class HistoryUnavailable(RuntimeError):
    """The venue could not serve the history asked for; the message says why."""


@dataclass(frozen=True)
class Fetched:
    """What a walk brought back, and how many REST requests it took (pages + markets)."""

    items: list[Any]
    requests: int


class RestHistory:
    """One venue's REST history. Connects lazily; not thread-safe (one per asset run)."""

    def __init__(
        self,
        exchange: str,
        *,
        rest_url: str | None = None,
        rate_limit_ms: int | None = None,
        page_limit: int | None = None,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
    ) -> None:
        self.venue = venue_for(exchange)
        self.limits = LIMITS[self.venue.id]
        self.rest_url = rest_url
        self.rate_limit_ms = rate_limit_ms
        self.page_limit = page_limit
        self.timeout_ms = timeout_ms
        self.requests = 0
        self._exchange: ccxt.Exchange | None = None

    @property
    def url(self) -> str:
        """The public REST base URL requests go to."""
        return self.rest_url or str(self._ccxt().urls["api"]["public"])

    @property
    def rate_limit(self) -> int:
        """Milliseconds between requests of cost 1 (ccxt's ``rateLimit``)."""
        return int(self._ccxt().rateLimit)

    def candles(self, instrument: InstrumentKey, window: Window, timeframe: str = "1m") -> Fetched:
        """ccxt ``fetch_ohlcv`` pages covering ``window``: ``[[open_ms, o, h, l, c, v], …]``."""
        exchange = self._ccxt()
        start = self.requests
        symbol = self._symbol(instrument)
        interval_ms = int(exchange.parse_timeframe(timeframe)) * 1000
        limit = self._limit(self.limits.candle_limit)
        pager = CandlePager(window, interval_ms, limit, bounded=self.limits.candle_bounded)
        candles: list[Any] = []
        while (ask := pager.next_request()) is not None:
            params = {"until": ask.until} if self.limits.candle_until else {}
            page = self._call(exchange.fetch_ohlcv, symbol, timeframe, ask.since, ask.limit, params)
            candles += page
            pager.advance([int(candle[0]) for candle in page])
        return Fetched(candles, self.requests - start)

    def trades(self, instrument: InstrumentKey, window: Window) -> Fetched:
        """ccxt ``fetch_trades`` pages covering ``window``: unified trade dicts."""
        if not self.limits.trades_by_time:
            raise HistoryUnavailable(
                f"{self.venue.id}: its REST API pages trades by trade id only, not by time, so "
                "a day of trades cannot be fetched by since/until; candles can"
            )
        exchange = self._ccxt()
        start = self.requests
        symbol = self._symbol(instrument)
        span = self.limits.trade_span_ms
        pager = TradePager(window, self._limit(self.limits.trade_limit), span)
        trades: list[Any] = []
        while (ask := pager.next_request()) is not None:
            params = {"until": ask.until} if span is not None else {}
            page = self._call(exchange.fetch_trades, symbol, ask.since, ask.limit, params)
            trades += page
            pager.advance([int(trade["timestamp"]) for trade in page if trade.get("timestamp")])
        return Fetched(trades, self.requests - start)

    def _limit(self, venue_max: int) -> int:
        return venue_max if self.page_limit is None else max(1, min(self.page_limit, venue_max))

    def _symbol(self, instrument: InstrumentKey) -> str:
        exchange = self._ccxt()
        if not exchange.markets:
            markets = self._call(exchange.fetch_markets)
            exchange.set_markets(markets)
        if instrument.symbol not in exchange.markets:
            raise HistoryUnavailable(
                f"{self.venue.id} lists no market {instrument.symbol} (from {instrument.key}) "
                f"at {self.url}"
            )
        return instrument.symbol

    def _call(self, method: Any, *args: Any) -> Any:
        import ccxt

        self.requests += 1
        try:
            return method(*args)
        except ccxt.NetworkError as exc:  # timeouts, DNS, refused connections, 5xx, DDoS guard
            cause = exc.__cause__ or exc.__context__  # the socket's own error (DNS, refused …)
            why = f"{type(exc).__name__}: {_short(exc)}"
            if cause is not None:
                why += f"; {type(cause).__name__}: {_short(cause, 200)}"
            raise HistoryUnavailable(
                f"{self.venue.id}: cannot reach its REST API at {self.url} ({why}). Backfills "
                "need the exchange online; point LUCENT_EXCHANGE_URLS at a reachable server "
                "otherwise"
            ) from exc
        except ccxt.BaseError as exc:
            raise HistoryUnavailable(
                f"{self.venue.id}: {type(exc).__name__} from {self.url}: {_short(exc)}"
            ) from exc

    def _ccxt(self) -> ccxt.Exchange:
        if self._exchange is None:
            import ccxt  # here, not at the top: importing ccxt takes seconds

            config: dict[str, Any] = {
                "options": copy.deepcopy(self.venue.options),
                "enableRateLimit": True,
                "timeout": self.timeout_ms,
            }
            if self.rate_limit_ms is not None:
                config["rateLimit"] = self.rate_limit_ms
            exchange = getattr(ccxt, self.venue.ccxt_id)(config)
            if self.rest_url is not None:
                exchange.urls["api"]["public"] = self.rest_url
            self._exchange = exchange
        return self._exchange


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
