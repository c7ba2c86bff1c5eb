"""De-duplication: message ids and content keys within a bounded window, memory as stated."""

from __future__ import annotations

import gc
import random
import tracemalloc
import uuid
from collections import Counter
from typing import Any

import msgspec

from lucent_platform import topics
from lucent_platform.envelope import encode, new_envelope
from lucent_platform.messages import OrderBookDelta, PriceUpdate, Trade, YieldRate
from lucent_platform.processing import DedupConfig, InRecord, MarketProcessor, ProcessorConfig
from lucent_platform.processing.dedup import SeenWindow, content_keys

T0 = 1_756_809_000_000
TRADES = topics.trades("binance", "BTC-USDT")
# The recorded Binance aggTrade 665076760.
TRADE = Trade(exchange="binance", pair="BTC-USDT", price=58001.03, amount=0.086205,
              trade_id="665076760", side="sell")  # fmt: skip


def frame(data: Any, source: str, message_id: str, received_ms: int = T0 + 15) -> bytes:
    envelope = new_envelope(
        data,
        source=source,
        event_time_ms=received_ms - 15,
        received_time_ms=received_ms,
        message_id=message_id,
    )
    return encode(envelope)


def run(*values: bytes, topic: str = TRADES, **dedup: Any) -> Counter[str]:
    proc = MarketProcessor(ProcessorConfig(dedup=DedupConfig(**dedup)), clock_ms=lambda: T0 + 50)
    records = [InRecord(topic, 0, i, T0, None, v) for i, v in enumerate(values)]
    return proc.process(records).counts


def test_the_same_message_twice_is_one_duplicate() -> None:
    value = frame(TRADE, "binance-websocket", "m-1")
    counts = run(value, value)
    assert counts == Counter({"in": 2, "normalized": 1, "duplicates": 1, "duplicates.id": 1})


def test_the_same_trade_from_two_connectors_is_one_duplicate() -> None:
    websocket = frame(TRADE, "binance-websocket", "ws-1")
    rest = frame(msgspec.structs.replace(TRADE, pair="btc/usdt"), "binance-rest", "rest-9")
    assert run(websocket, rest)["duplicates.content"] == 1
    assert run(websocket, rest, content=False)["normalized"] == 2


def test_trades_without_a_venue_id_are_kept_unless_configured() -> None:
    # Kraken's v1 feed has no trade ids, and identical fills do happen.
    fill = msgspec.structs.replace(TRADE, trade_id=None)
    a, b = frame(fill, "kraken-websocket", "k-1"), frame(fill, "kraken-websocket", "k-2")
    assert run(a, b)["normalized"] == 2
    assert run(a, b, trades_without_id=True)["duplicates.content"] == 1


def test_content_keys_name_the_facts_of_each_kind() -> None:
    keys = content_keys(DedupConfig())
    ticker = PriceUpdate(exchange="binance", pair="BTC-USDT", price=6e4, bid=59_999.5, ask=6e4)
    assert keys["price_update"](ticker, T0) == keys["price_update"](ticker, T0)
    assert keys["price_update"](ticker, T0) != keys["price_update"](ticker, T0 + 1)
    moved = msgspec.structs.replace(ticker, bid=59_999.0)
    assert keys["price_update"](ticker, T0) != keys["price_update"](moved, T0)
    delta = OrderBookDelta(exchange="binance", pair="ETH-USDT", bids=[], asks=[],
                           first_sequence=6591598764, sequence=6591598769)  # fmt: skip
    unsequenced = msgspec.structs.replace(delta, first_sequence=None, sequence=None)
    assert keys["orderbook_delta"](delta, T0) is not None
    assert keys["orderbook_delta"](unsequenced, T0) is None
    rate = YieldRate(protocol="aave", pool="usdc-lending", asset="USDC", chain="ethereum", apy=4.1)
    assert keys["yield_rate"](rate, T0) != keys["yield_rate"](rate, T0 + 12_000)
    # The same facts of two kinds never collide by construction.
    assert keys["trade"](TRADE, T0) != keys["price_update"](ticker, T0)


def test_a_redelivery_after_the_window_is_new_again() -> None:
    value = frame(TRADE, "binance-websocket", "m-1")
    later = frame(msgspec.structs.replace(TRADE, trade_id="2"), "binance-websocket", "m-2",
                  received_ms=T0 + 15 + 2 * 600_000)  # fmt: skip
    again = frame(TRADE, "binance-websocket", "m-1", received_ms=T0 + 16 + 2 * 600_000)
    assert run(value, later, again)["normalized"] == 3


def test_the_window_reach_and_bound() -> None:
    window = SeenWindow(max_entries=100, ttl_ms=60_000)
    for key in range(250):
        assert window.add(key, T0)
    assert len(window) <= 200
    # Remembered for at least max_entries later keys...
    assert all(key in window for key in range(150, 250))
    assert 0 not in window
    # ... or ttl_ms, whichever ends first.
    window = SeenWindow(max_entries=10_000, ttl_ms=60_000)
    window.add(1, T0)
    window.add(2, T0 + 59_999)
    assert not window.add(1, T0 + 59_999)
    window.add(3, T0 + 60_000)  # rotates: 1 and 2 are now the previous generation
    assert 1 in window and 2 in window
    window.add(4, T0 + 120_000)  # rotates again: 1 and 2 are forgotten
    assert 1 not in window and 3 in window
    window.add(5, T0 + 500_000)  # a quiet partition: everything older has expired
    assert len(window) == 1


def test_memory_per_key_is_as_documented() -> None:
    """dedup.py states 77 B per key (CPython 3.11, x86-64): keep that statement honest."""
    n = 100_000
    rng = random.Random(1)
    ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(2 * n)]  # as decoded
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        window = SeenWindow(max_entries=n, ttl_ms=10**12)
        for i, message_id in enumerate(ids):  # both generations full
            window.add(hash(message_id), T0 + 3 * i)
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(window) == 2 * n
    assert 60 < used / len(window) < 95
