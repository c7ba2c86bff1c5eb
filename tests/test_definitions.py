"""The Dagster code location loads, validates, and its assets run against real services."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from lucent_platform import topics
from lucent_platform.adapters import kafka
from lucent_platform.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_definitions_load_with_every_resource() -> None:
    from lucent_platform.definitions import defs

    dg.Definitions.validate_loadable(defs)
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"kafka_topics", "message_schemas", "nats_streams", "clickhouse_tables"} <= keys
    assert set(defs.resources or {}) >= {"kafka", "clickhouse", "nats", "eventstore"}
    assert "schema_registry" in (defs.resources or {})
    assert defs.resolve_job_def("provision") is not None
    sensor = defs.resolve_sensor_def("stream_observations_sensor")
    assert sensor.minimum_interval_seconds == 60


def test_lineage_runs_from_feeds_through_topics_to_tables() -> None:
    from assets.keys import feed_key, table_key, topic_key
    from lucent_platform.analytics.rows import TABLE_FOR_TOPIC
    from lucent_platform.definitions import defs

    graph = defs.resolve_asset_graph()
    raw = topic_key(topics.prices("binance", "BTC-USDT"))
    prices = topic_key(topics.normalized(topics.Kind.PRICES))
    arbitrage = topic_key(topics.ARBITRAGE_OPPORTUNITIES)
    path = [
        feed_key("binance"),
        raw,
        prices,
        arbitrage,
        table_key(TABLE_FOR_TOPIC[topics.ARBITRAGE_OPPORTUNITIES]),
    ]
    for upstream, downstream in itertools.pairwise(path):
        assert upstream in graph.get(downstream).parent_keys, (upstream, downstream)
    candles = graph.get(table_key("market_data_1h"))
    assert candles.parent_keys == {table_key("market_data")}
    assert graph.get(table_key("market_data")).parent_keys == {table_key("trades")}
    for topic, table in TABLE_FOR_TOPIC.items():
        node = graph.get(table_key(table))
        assert node.is_external and topic_key(topic) in node.parent_keys
        assert "clickhouse" in node.kinds
    assert "kafka" in graph.get(prices).kinds
    assert graph.get(prices).metadata["partitions"] == topics.NORMALIZED_PARTITIONS


def test_dagster_definitions_validate_passes(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
        env={**os.environ, "DAGSTER_HOME": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_kafka_topics_asset_provisions_the_catalog(
    kafka_bootstrap: str, settings: Settings
) -> None:
    from assets.topics import kafka_topics
    from resources import KafkaResource

    result = dg.materialize(
        [kafka_topics], resources={"kafka": KafkaResource(bootstrap_servers=kafka_bootstrap)}
    )
    assert result.success
    names = {info.topic for info in kafka.describe_topics(settings, kafka_bootstrap)}
    assert {spec.name for spec in topics.fixed_topics()} <= names
    assert topics.prices("binance", "BTC-USDT") in names
    metadata = result.asset_materializations_for_node("kafka_topics")[0].metadata
    assert metadata["topics"].value >= len(topics.fixed_topics())
