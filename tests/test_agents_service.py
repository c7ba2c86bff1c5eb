"""``lucent worker agents`` on the real broker, nats-server and embedded ClickHouse: requests
answered from prices produced to Kafka, and predictions published on NATS recorded on Kafka
(bad ones dead-lettered with their reason) and stored by the ClickHouse sink."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import nats
import pytest

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings, with_overrides
from lucent_platform.envelope import decode_as
from lucent_platform.messages import ModelPrediction
from lucent_platform.processing import deadletter
from lucent_platform.topics import TopicSpec
from streaming.agents.worker import run
from streaming.lifecycle import StopSignal
from tests.agent_data import T0, prediction_bytes, quote_bytes
from tests.test_runtime_loop import create_topics, read_values


@dataclass
class Service:
    prices: str
    predictions: str
    deadletters: str
    model: str
    counts: list[Counter[str]]


@pytest.fixture
def service(
    settings: Settings, kafka_bootstrap: str, nats_url: str, unique: str
) -> Iterator[Service]:
    names = Service(f"ag.prices.{unique}", f"ag.predictions.{unique}", f"ag.dead.{unique}",
                    f"m{unique}", [])  # fmt: skip
    create_topics(settings, kafka_bootstrap, TopicSpec(names.prices, 3),
                  TopicSpec(names.predictions, 3), TopicSpec(names.deadletters, 1))  # fmt: skip
    producer = kafka.producer(settings, kafka_bootstrap)
    now = time.time_ns() // 1_000_000
    for pair, exchange, price, age in (
        ("BTC-USDT", "binance", 60000.0, 3000), ("BTC-USDT", "binance", 60010.0, 2000),
        ("BTC-USDT", "kraken", 60020.0, 1500), ("ETH-USDT", "coinbase", 3000.0, 1000),
    ):  # fmt: skip
        producer.produce(names.prices, quote_bytes(pair, exchange, price, now - age), pair.encode())
    assert producer.flush(30) == 0
    stop = StopSignal()

    def main() -> None:
        names.counts.append(run(
            settings, kafka_bootstrap, nats_url, stop, prices_topic=names.prices,
            predictions_topic=names.predictions, deadletter_topic=names.deadletters,
            durable=f"agents-{unique}", filter_subject=f"agents.predictions.{names.model}.>",
        ))  # fmt: skip

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    try:
        yield names
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert len(names.counts) == 1, "the worker died (see the thread's exception above)"


async def _ask_until(url: str, subject: str, ready: Any, timeout: float = 30.0) -> dict[str, Any]:
    """Request ``subject`` until ``ready(answer)`` (the worker may still be warming up)."""
    client = await nats.connect(url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                reply = json.loads((await client.request(subject, b"", timeout=2)).data)
                if ready(reply) or time.monotonic() > deadline:
                    return reply
            except nats.errors.NoRespondersError:
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.2)
    finally:
        await client.drain()


def ask(url: str, subject: str, ready: Any = lambda reply: "error" not in reply) -> dict[str, Any]:
    return asyncio.run(_ask_until(url, subject, ready))


def test_queries_are_answered_from_the_prices_produced(service: Service, nats_url: str) -> None:
    def both_venues(reply: dict[str, Any]) -> bool:
        venues = reply.get("venues", ())
        return len(venues) == 2 and venues[0]["price"] == 60010.0

    price = ask(nats_url, "agents.query.price.BTC-USDT", both_venues)
    venues = {v["exchange"]: v for v in price["venues"]}
    assert venues["binance"]["price"] == 60010.0 and venues["kraken"]["price"] == 60020.0
    assert price["bestBid"]["exchange"] == "kraken" and price["bestBid"]["price"] == 60019.5
    assert price["bestAsk"]["exchange"] == "binance" and price["bestAsk"]["price"] == 60010.5
    assert 1500 <= venues["kraken"]["ageMs"] < 60_000
    features = ask(nats_url, "agents.query.features.ETH-USDT")
    (coinbase,) = features["venues"]
    assert coinbase["exchange"] == "coinbase" and coinbase["depth"]["mid"] == 3000.0
    assert coinbase["movingAverages"] == [{"span": 20, "sma": 2999.0, "ema": 2999.5}]
    unknown = ask(nats_url, "agents.query.price.DOGE-USDT", lambda r: True)
    assert "unknown pair 'DOGE-USDT'" in unknown["error"]
    bad = ask(nats_url, "agents.query.volume.BTC-USDT", lambda r: True)
    assert "cannot answer 'agents.query.volume.BTC-USDT'" in bad["error"]


async def _publish(url: str, messages: list[tuple[str, bytes]]) -> None:
    client = await nats.connect(url)
    try:
        js = client.jetstream()
        for subject, payload in messages:
            await js.publish(subject, payload)
    finally:
        await client.drain()


def test_predictions_are_recorded_on_kafka_and_stored_by_the_sink(
    service: Service, settings: Settings, kafka_bootstrap: str, nats_url: str, clickhouse: Any,
    clickhouse_server: Any, unique: str,
) -> None:  # fmt: skip
    model = service.model
    ask(nats_url, "agents.query.price.BTC-USDT")  # the worker is up (stream provisioned)
    good = [prediction_bytes(model, pair, T0 + i * 60_000)
            for i, pair in enumerate(("BTC-USDT", "ETH-USDT", "BTC-USDT"))]  # fmt: skip
    published = [
        (f"agents.predictions.{model}.BTC-USDT", good[0]),
        (f"agents.predictions.{model}.ETH-USDT", good[1]),
        (f"agents.predictions.{model}.BTC-USDT", good[2]),
        (f"agents.predictions.{model}.BTC-USDT", good[0]),  # published twice: one row
        (f"agents.predictions.{model}.BTC-USDT", b"{not json"),
        (f"agents.predictions.{model}.ETH-USDT", good[0]),  # the pair is BTC-USDT
        (f"agents.predictions.{model}.BTC-USDT",
         prediction_bytes(model, "BTC-USDT", probability_up=2.0)),
    ]  # fmt: skip
    asyncio.run(_publish(nats_url, published))
    values = read_values(settings, kafka_bootstrap, service.predictions, expect=4)
    recorded = [decode_as(value, ModelPrediction) for value in values]
    assert len(recorded) == 4
    assert {(e.data.pair, e.data.time) for e in recorded} == {
        ("BTC-USDT", T0), ("ETH-USDT", T0 + 60_000), ("BTC-USDT", T0 + 120_000),
    }  # fmt: skip
    assert len({e.header.message_id for e in recorded}) == 3
    values = read_values(settings, kafka_bootstrap, service.deadletters, expect=3)
    letters = [deadletter.decode(value) for value in values]
    assert sorted(letter.reason for letter in letters) == [
        "invalid_prediction", "subject_mismatch", "undecodable",
    ]  # fmt: skip
    assert all(letter.source_topic.startswith(f"agents.predictions.{model}.") for letter in letters)
    assert {letter.original_base64 for letter in letters} >= {b"{not json", good[0]}

    from lucent_platform.analytics import migrate
    from streaming.sink.worker import run as sink_run

    db_settings = with_overrides(settings, clickhouse_database=clickhouse.database,
                                 sink_batch_ms=200)  # fmt: skip
    migrate(clickhouse, db_settings)
    stop = StopSignal()
    sink = threading.Thread(target=lambda: sink_run(
        db_settings, kafka_bootstrap, clickhouse_server.url, stop, group_id=f"ag-sink-{unique}",
        topics=[service.predictions], consumer_config={"auto.offset.reset": "earliest"},
    ), daemon=True)  # fmt: skip
    sink.start()
    try:
        deadline, rows = time.monotonic() + 60, []
        while time.monotonic() < deadline:
            rows = clickhouse.query(
                "SELECT model, pair, horizon, toUnixTimestamp64Milli(features_time), "
                "probability_up, close FROM model_predictions FINAL ORDER BY features_time"
            ).result_rows
            if len(rows) >= 3:
                break
            time.sleep(0.5)
    finally:
        stop.set()
        sink.join(30)
    assert [tuple(r) for r in rows] == [
        (model, "BTC-USDT", 5, T0, 0.534, 60012.35),
        (model, "ETH-USDT", 5, T0 + 60_000, 0.534, 60012.35),
        (model, "BTC-USDT", 5, T0 + 120_000, 0.534, 60012.35),
    ]
