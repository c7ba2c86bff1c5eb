"""The live feed's real code path (ccxt.pro connection + our connectors) against local exchanges
that replay recorded traffic: every venue, and the faults it must survive."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest

from streaming.feeds.live import Backoff, VenueFeed
from tests.exchange_server import ExchangeServer, Script
from tests.market_fixtures import jsonl

DEPTH_BODY = next(
    s["body"] for s in jsonl("binance/rest_depth_snapshots.jsonl") if "BTCUSDT" in s["url"]
)


def binance_frames() -> list[str]:
    """BTCUSDT trades and depth updates in event order, as the exchange sent them."""
    trades = [m for m in jsonl("binance/ws_aggTrade.jsonl") if m["data"]["s"] == "BTCUSDT"]
    books = [m for m in jsonl("binance/ws_depthUpdate.jsonl") if m["data"]["s"] == "BTCUSDT"]
    merged = sorted(trades + books, key=lambda m: m["data"]["E"])
    return [json.dumps(m) for m in merged]


def binance_ack(request: dict[str, Any]) -> str | None:
    return json.dumps({"result": None, "id": request.get("id")})


def run_feed(feed: VenueFeed, until: Any, timeout: float = 20.0) -> None:
    """Run the feed in its own event loop until ``until()`` or the timeout."""
    deadline = time.monotonic() + timeout
    done = threading.Event()

    def stopped() -> bool:
        if until() or time.monotonic() > deadline:
            done.set()
        return done.is_set()

    asyncio.run(feed.run(stopped))


def fast_backoff() -> Backoff:
    return Backoff(base=0.05, cap=0.2)


def collecting_feed(
    exchange: str, pairs: list[str], server: ExchangeServer, **kw: Any
) -> tuple[VenueFeed, list[Any]]:
    received: list[Any] = []
    rest = f"{server.http_url}/api/v3" if exchange.startswith("binance") else server.http_url
    feed = VenueFeed(
        exchange, pairs, sink=received.append, urls={"ws": server.ws_url, "rest": rest},
        backoff=fast_backoff(), **kw,
    )  # fmt: skip
    return feed, received


def kinds(envelopes: list[Any]) -> set[str]:
    return {e.header.message_type for e in envelopes}


def test_binance_trades_and_books_flow_with_a_rest_snapshot() -> None:
    frames = binance_frames()
    script = Script(frames, ack=binance_ack)
    with ExchangeServer(script, rest={"/depth": DEPTH_BODY}) as server:
        feed, received = collecting_feed("binance", ["BTC-USDT"], server)
        expected_trades = sum('"aggTrade"' in f for f in frames)
        run_feed(
            feed, lambda: sum(e.header.message_type == "trade" for e in received) >= expected_trades
        )
    trades = [e for e in received if e.header.message_type == "trade"]
    recorded = [json.loads(f)["data"] for f in frames if '"aggTrade"' in f]
    assert [(t.data.price, t.data.amount, t.data.trade_id) for t in trades] == [
        (float(r["p"]), float(r["q"]), str(r["a"])) for r in recorded
    ]
    assert {"orderbook_snapshot", "orderbook_delta"} <= kinds(received)
    assert any("/depth" in path for path in server.rest_requests)
    streams = [p for s in server.subscriptions for p in s.get("params", [])]
    assert any(p.startswith("btcusdt@") for p in streams)
    assert feed.counts["connections"] == 1 and feed.counts["rejected"] == 0


def test_a_dropped_connection_is_reconnected_and_data_keeps_flowing() -> None:
    frames = binance_frames()
    with ExchangeServer(
        Script(frames, drop_after=40, ack=binance_ack), rest={"/depth": DEPTH_BODY}
    ) as server:
        feed, received = collecting_feed("binance", ["BTC-USDT"], server)
        run_feed(feed, lambda: server.connections >= 2 and len(received) > 60)
    assert server.connections >= 2 and feed.counts["reconnects"] >= 1
    assert len(received) > 60


def test_a_silent_stream_is_detected_as_stale_and_reconnected() -> None:
    frames = binance_frames()
    with ExchangeServer(
        Script(frames, silent_after=10, ack=binance_ack), rest={"/depth": DEPTH_BODY}
    ) as server:
        feed, _ = collecting_feed("binance", ["BTC-USDT"], server, stale_seconds=1.0)
        run_feed(feed, lambda: feed.counts["stale"] >= 1 and server.connections >= 2)
    assert feed.counts["stale"] >= 1 and server.connections >= 2


def test_garbage_frames_are_rejected_and_counted_without_stopping_the_feed() -> None:
    frames = binance_frames()[:60]
    garbage = ["not json {{", '{"stream": "btcusdt@aggTrade", "data": 5}', "[1, 2, 3]"]
    mixed = frames[:20] + garbage + frames[20:]
    with ExchangeServer(Script(mixed, ack=binance_ack), rest={"/depth": DEPTH_BODY}) as server:
        feed, received = collecting_feed("binance", ["BTC-USDT"], server)
        run_feed(feed, lambda: feed.counts["frames"] >= len(mixed))
    assert feed.counts["rejected"] >= len(garbage)
    assert feed.counts["connections"] == 1
    assert sum(e.header.message_type == "trade" for e in received) == sum(
        '"aggTrade"' in f for f in frames
    )


def test_a_sequence_gap_triggers_a_new_rest_snapshot() -> None:
    frames = binance_frames()
    depth = [i for i, f in enumerate(frames) if '"depthUpdate"' in f]
    gapped = [f for i, f in enumerate(frames) if i != depth[len(depth) // 2]]
    with ExchangeServer(Script(gapped, ack=binance_ack), rest={"/depth": DEPTH_BODY}) as server:
        feed, received = collecting_feed("binance", ["BTC-USDT"], server)
        run_feed(feed, lambda: feed.counts["resnapshots"] >= 1 and feed.counts["snapshots"] >= 2)
    assert feed.counts["resnapshots"] >= 1
    assert sum("/depth" in path for path in server.rest_requests) >= 2
    assert any(e.metadata.data_quality == "low" for e in received)


def test_coinbase_tickers_trades_and_books() -> None:
    def product(name: str) -> list[str]:
        return [
            json.dumps(m) for m in jsonl(f"coinbase/{name}") if m.get("product_id") == "SKL-USD"
        ]

    frames = product("ws_snapshot.jsonl") + sorted(
        product("ws_ticker.jsonl") + product("ws_match.jsonl") + product("ws_l2update.jsonl")[:200],
        key=lambda f: json.loads(f)["time"],
    )
    with ExchangeServer(Script(frames)) as server:
        feed, received = collecting_feed("coinbase", ["SKL-USD"], server)
        run_feed(feed, lambda: feed.counts["frames"] >= len(frames))
    assert {"price_update", "trade", "orderbook_snapshot", "orderbook_delta"} <= kinds(received)
    assert feed.counts["rejected"] == 0
    assert any(s.get("type") == "subscribe" for s in server.subscriptions)


def test_kraken_tickers_trades_and_books() -> None:
    def pair(name: str) -> list[str]:
        return [
            json.dumps(m)
            for m in jsonl(f"kraken/{name}")
            if isinstance(m, list) and m[-1] == "XBT/USD"
        ]

    frames = pair("ws_book.jsonl")[:300] + pair("ws_ticker.jsonl") + pair("ws_trade.jsonl")
    with ExchangeServer(Script(frames)) as server:
        feed, received = collecting_feed("kraken", ["BTC-USD"], server)
        run_feed(feed, lambda: feed.counts["frames"] >= len(frames))
    assert {"price_update", "trade", "orderbook_snapshot", "orderbook_delta"} <= kinds(received)
    assert any("subscribe" in (s.get("event"), s.get("method")) for s in server.subscriptions)


@pytest.mark.parametrize("attempts", [0, 3, 10])
def test_backoff_is_jittered_exponential_and_capped(attempts: int) -> None:
    backoff = Backoff(base=0.5, cap=30.0)
    backoff.attempt = attempts
    delays = [Backoff(base=0.5, cap=30.0, attempt=attempts).next_delay() for _ in range(200)]
    ceiling = min(30.0, 0.5 * 2**attempts)
    assert all(0 <= d <= ceiling for d in delays)
    assert len({round(d, 6) for d in delays}) > 150  # jittered, not a fixed schedule


def test_a_recording_of_the_live_feed_replays_to_the_same_envelopes(tmp_path: Any) -> None:
    """`lucent record` then `lucent replay`: one code path, so identical envelopes."""
    from lucent_platform.recordings import open_for_writing, read_recordings, write_frames
    from streaming.feeds.replay import Replayer

    frames = binance_frames()[:300]
    path = tmp_path / "binance.jsonl.gz"
    server = ExchangeServer(Script(frames, ack=binance_ack), rest={"/depth": DEPTH_BODY})
    with server, open_for_writing(path) as out:
        feed, live = collecting_feed("binance", ["BTC-USDT"], server)
        feed.on_frame = lambda frame: write_frames(out, [frame])
        run_feed(feed, lambda: feed.counts["frames"] >= len(frames))
    replayed: list[Any] = []
    stats = Replayer(replayed.append).run(read_recordings(path))
    assert stats.frames == feed.counts["frames"] + feed.counts["snapshots"]
    assert len(live) > 250
    assert replayed == live


def test_frames_keep_the_connection_alive_between_ccxt_pings() -> None:
    """ccxt drops a socket whose pongs it never sees; ours see every frame first, so any frame
    from the venue counts as a sign of life (a 0.3 s keep-alive, 4 s of traffic)."""
    frames = [json.dumps(m) for m in jsonl("kraken/ws_book.jsonl") if m[-1] == "XBT/USD"][:400]
    with ExchangeServer(Script(frames, interval=0.01)) as server:
        feed, _ = collecting_feed("kraken", ["BTC-USD"], server, keep_alive_ms=300)
        run_feed(feed, lambda: feed.counts["frames"] >= len(frames))
    assert feed.counts["frames"] >= len(frames)
    assert feed.counts["connections"] == 1 and feed.counts["reconnects"] == 0
    assert any("ping" in (s.get("event"), s.get("method")) for s in server.subscriptions)


def test_binance_tickers_with_markets_loaded_from_the_venue() -> None:
    """Binance-family tickers over the live path: Binance.US bookTicker recordings, for a venue
    we ship no markets snapshot for, so the feed loads them over REST as a live client does."""
    from lucent_platform.connectors.exchanges import MARKETS_DIR

    exchange_info = json.loads((MARKETS_DIR / "binance_exchangeInfo.json").read_text())
    frames = [
        json.dumps(m) for m in jsonl("binance_us/ws_bookTicker.jsonl") if m["data"]["s"] == "ETHBTC"
    ]
    with ExchangeServer(
        Script(frames, ack=binance_ack), rest={"/exchangeInfo": exchange_info}
    ) as server:
        feed, received = collecting_feed("binanceus", ["ETH-BTC"], server)
        run_feed(feed, lambda: feed.counts["frames"] >= len(frames))
    assert any(path.startswith("/api/v3/exchangeInfo") for path in server.rest_requests)
    tickers = [e for e in received if e.header.message_type == "price_update"]
    recorded = [json.loads(f)["data"] for f in frames]
    assert [(t.data.bid, t.data.ask) for t in tickers] == [
        (float(r["b"]), float(r["a"])) for r in recorded
    ]
    assert {t.data.pair for t in tickers} == {"ETH-BTC"}
