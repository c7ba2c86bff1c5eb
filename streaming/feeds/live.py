"""The live feed: ccxt.pro websockets to Binance, Coinbase and Kraken, through our connectors.

ccxt.pro owns the connection (URLs, subscribe messages, pings); every frame it receives is
taken before ccxt's own handlers and given to ``Connector.parse`` — the code replays and
tests drive — so live and replayed data are produced by one path. Per venue, independently:

- reconnect with jittered exponential back-off (a venue that keeps failing never stops the
  others);
- stale-stream detection: a subscribed stream silent for ``LUCENT_FEED_STALE_SECONDS`` forces
  a reconnect, counted;
- book integrity: a sequence gap, crossed book or checksum mismatch reported by the connector
  triggers a new snapshot (Binance: REST depth; others: resubscribe by reconnecting).

``lucent record`` runs the same code with a recorder instead of (or beside) Kafka.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from lucent_platform.config import Settings
from lucent_platform.connectors import Connector, ParseResult, RawFrame, connector_for
from lucent_platform.envelope import Envelope
from streaming.exposed import expose
from streaming.lifecycle import StopSignal
from streaming.publisher import Publisher

log = logging.getLogger(__name__)

FrameHook = Callable[[RawFrame], None]
EnvelopeSink = Callable[[Envelope[Any]], None]
KINDS = ("ticker", "trades", "book")


@dataclass
class Backoff:
    """Full-jitter exponential back-off: a random wait in [0, min(cap, base·2^n)]."""

    base: float = 0.5
    cap: float = 30.0
    attempt: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next_delay(self) -> float:
        delay = self.rng.uniform(0, min(self.cap, self.base * 2**self.attempt))
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0


@dataclass
class VenueFeed:
    """One venue's live connection, supervised: reconnects, stale detection, re-snapshots."""

    exchange: str
    pairs: list[str]
    sink: EnvelopeSink | None = None
    on_frame: FrameHook | None = None
    urls: dict[str, str] = field(default_factory=dict)  # {"ws": …, "rest": …} overrides
    stale_seconds: float = 30.0
    keep_alive_ms: int | None = None  # ccxt's ping interval; None keeps ccxt's per-venue value
    backoff: Backoff = field(default_factory=Backoff)
    counts: Counter[str] = field(default_factory=Counter)

    async def run(self, stopped: Callable[[], bool]) -> None:
        while not stopped():
            try:
                reason = await self._connect_once(stopped)
            except Exception as exc:  # a venue's failure is logged and retried, never fatal
                reason = f"{type(exc).__name__}: {exc}"
            if stopped():
                break
            self.counts["reconnects"] += 1
            delay = self.backoff.next_delay()
            log.warning("%s: %s; reconnecting in %.1fs", self.exchange, reason, delay)
            await _sleep_unless(stopped, delay)

    async def _connect_once(self, stopped: Callable[[], bool]) -> str:
        connector = connector_for(self.exchange, pairs=self.pairs)
        exchange = self._live_exchange(connector)
        last_seen: dict[tuple[str, str], float] = {}
        resnapshot: set[str] = set()
        reconnect: list[str] = []

        def on_message(client: Any, message: Any) -> None:
            # ccxt's keep-alive counts a connection alive only when its own pong handler runs;
            # we take every frame before ccxt's handlers, so any frame (pongs included) counts.
            client.lastPong = time.time_ns() // 1_000_000
            result = self._handle(connector, message, last_seen)
            for pair in result.resnapshot:
                self.counts["resnapshots"] += 1
                if exchange.id.startswith("binance"):
                    resnapshot.add(pair)
                else:
                    reconnect.append(f"book of {pair} needs a new snapshot")

        exchange.handle_message = on_message  # frames go to our connector, not ccxt's handlers
        self.counts["connections"] += 1
        if any(_symbol_of(p) not in exchange.markets for p in self.pairs):
            # Instruments the shipped snapshot lacks (a new listing, a venue we ship none
            # for): ask the venue itself, as any live client would.
            offline_markets = exchange.markets
            try:
                await exchange.load_markets(reload=True)
            except Exception as exc:  # the venue's market list is a nicety: keep what we have
                log.warning("%s: cannot load markets (%s); using the shipped snapshot",
                            self.exchange, exc)  # fmt: skip
                self.counts["markets_unavailable"] += 1
                exchange.set_markets(offline_markets)
        symbols = [s for s in (self._symbol(exchange, p) for p in self.pairs) if s]
        watches = [
            asyncio.ensure_future(watch(symbol))
            for symbol in symbols
            for watch in (exchange.watch_ticker, exchange.watch_trades, exchange.watch_order_book)
        ]
        if exchange.id.startswith("binance"):  # Binance books start from a REST snapshot
            resnapshot.update(connector.pair_for(s) for s in symbols)
        started = time.monotonic()
        try:
            while not stopped():
                for task in watches:  # a failed subscription means the connection is gone
                    if task.done() and not task.cancelled() and task.exception() is not None:
                        return f"connection lost ({task.exception()})"
                if reconnect:
                    return reconnect[0]
                while resnapshot:
                    await self._snapshot(connector, exchange, resnapshot.pop())
                if stale := self._stale(last_seen, symbols, connector, started):
                    self.counts["stale"] += 1
                    return f"stale stream {stale}: no update for {self.stale_seconds:g}s"
                if last_seen:
                    self.backoff.reset()
                await asyncio.sleep(0.05)
            return "stopped"
        finally:
            for task in watches:
                task.cancel()
            await asyncio.gather(*watches, return_exceptions=True)
            await exchange.close()

    def _handle(
        self, connector: Connector, message: Any, last_seen: dict[tuple[str, str], float]
    ) -> ParseResult:
        frame = RawFrame(self.exchange, time.time_ns(), message)
        if self.on_frame is not None:
            self.on_frame(frame)
        result = connector.parse(frame)
        self.counts["frames"] += 1
        if result.rejected:
            self.counts["rejected"] += 1
            log.debug("%s: rejected frame: %s", self.exchange, result.rejected)
        now = time.monotonic()
        for envelope in result.envelopes:
            kind = _stream_kind(envelope.header.message_type)
            last_seen[(kind, getattr(envelope.data, "pair", ""))] = now
            self.counts["envelopes"] += 1
            if self.sink is not None:
                self.sink(envelope)
        return result

    async def _snapshot(self, connector: Connector, exchange: Any, pair: str) -> None:
        """Fetch a Binance REST depth snapshot and feed it to the connector as a frame."""
        market = exchange.market(pair.replace("-", "/"))
        body = await exchange.public_get_depth({"symbol": market["id"], "limit": 1000})
        url = f"{exchange.urls['api']['public']}/depth?symbol={market['id']}&limit=1000"
        frame = RawFrame(self.exchange, time.time_ns(), body, url=url)
        if self.on_frame is not None:
            self.on_frame(frame)
        result = connector.parse(frame)
        if self.sink is not None:
            for envelope in result.envelopes:
                self.sink(envelope)
        self.counts["snapshots"] += 1

    def _stale(
        self,
        last_seen: dict[tuple[str, str], float],
        symbols: list[str],
        connector: Connector,
        started: float,
    ) -> str | None:
        now = time.monotonic()
        for symbol in symbols:
            pair = connector.pair_for(symbol)
            for kind in KINDS:
                seen = last_seen.get((kind, pair), started)
                if now - seen > self.stale_seconds:
                    return f"{kind} {pair}"
        return None

    def _symbol(self, exchange: Any, pair: str) -> str | None:
        symbol = _symbol_of(pair)
        if symbol not in (exchange.markets or {}):
            log.warning("%s does not list %s: not subscribed", self.exchange, pair)
            self.counts["unknown_pairs"] += 1
            return None
        return symbol

    def _live_exchange(self, connector: Connector) -> Any:
        """A second ccxt.pro instance for the connection, with the connector's markets."""
        offline = connector.ccxt()
        exchange = type(offline)(
            {"enableRateLimit": True, "options": dict(connector.venue.options)}
        )
        exchange.set_markets(offline.markets)
        if self.keep_alive_ms is not None:
            exchange.streaming = {**exchange.streaming, "keepAlive": self.keep_alive_ms}
        if "streamLimits" in exchange.options:
            # ccxt spreads Binance subscriptions over up to 50 sockets; one socket carries up to
            # 1024 streams, and one connection per venue keeps health and ordering simple.
            exchange.options["streamLimits"] = dict.fromkeys(exchange.options["streamLimits"], 1)
        key = connector.venue.ws_url_key
        if "ws" in self.urls:
            if key is None:
                exchange.urls["api"]["ws"] = self.urls["ws"]
            else:  # ccxt's Kraken subscribes on its v2 URL: point both versions here
                for name in (key, f"{key}V2"):
                    if name in exchange.urls["api"]["ws"]:
                        exchange.urls["api"]["ws"][name] = self.urls["ws"]
        if "rest" in self.urls:
            exchange.urls["api"]["public"] = self.urls["rest"]
        return exchange


def _symbol_of(pair: str) -> str:
    return pair.replace("-", "/").upper()


def _stream_kind(message_type: str) -> str:
    if message_type == "price_update":
        return "ticker"
    if message_type == "trade":
        return "trades"
    return "book"


async def _sleep_unless(stopped: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not stopped() and time.monotonic() < deadline:
        await asyncio.sleep(min(0.1, seconds))


async def run_venues(feeds: Iterable[VenueFeed], stopped: Callable[[], bool]) -> None:
    """All venues side by side; each one's failures stay its own."""
    await asyncio.gather(*(feed.run(stopped) for feed in feeds))


def feeds_from(
    settings: Settings, sink: EnvelopeSink | None, on_frame: FrameHook | None = None
) -> list[VenueFeed]:
    """One ``VenueFeed`` per configured exchange, with URL overrides from the settings."""
    return [
        VenueFeed(
            exchange,
            list(settings.pairs),
            sink=sink,
            on_frame=on_frame,
            urls=settings.exchange_urls.get(exchange, {}),
            stale_seconds=settings.feed_stale_seconds,
        )
        for exchange in settings.exchanges
    ]


def run(settings: Settings, publisher: Publisher, stop: StopSignal) -> list[VenueFeed]:
    """``LUCENT_FEED=live``: every configured exchange into the raw topics until stopped."""
    feeds = feeds_from(settings, publisher.publish_envelope)
    for feed in feeds:
        expose("venue", feed.exchange, feed)
    asyncio.run(run_venues(feeds, lambda: stop.stopped))
    for feed in feeds:
        log.info("%s: %s", feed.exchange, dict(feed.counts))
    return feeds
