"""The Dagster code location loads, validates, and its assets run against real services."""

from __future__ import annotations

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
    assert "kafka_topics" in keys
    assert set(defs.resources or {}) >= {"kafka", "clickhouse", "nats", "eventstore"}


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
