"""The provisioning assets against the real broker, nats-server and ClickHouse: the whole
``provision`` job twice (the second run changes nothing), topic drift repaired and reported,
and the schema check's failure naming the schema."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import dagster as dg
import pytest
from clickhouse_connect.driver import Client
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from assets.provision import PROVISIONING, provision_job
from assets.schemas import message_schemas
from assets.topics import kafka_topics
from lucent_platform import schema_files, topics
from lucent_platform.adapters import nats as nats_adapter
from lucent_platform.analytics.migrate import load_migrations
from lucent_platform.config import Settings
from lucent_platform.subjects import STREAMS
from resources import ClickHouseResource, KafkaResource, NatsResource
from resources.schema_registry import SchemaRegistryResource
from tests.fixtures.clickhouse import EmbeddedClickHouse


def _resources(kafka: str, nats_url: str, clickhouse_url: str, database: str) -> dict:
    return {
        "kafka": KafkaResource(bootstrap_servers=kafka),
        "nats": NatsResource(url=nats_url),
        "clickhouse": ClickHouseResource(url=clickhouse_url, database=database),
        "schema_registry": SchemaRegistryResource(),
    }


def _metadata(result: dg.ExecuteInProcessResult, node: str) -> dict:
    [materialization] = result.asset_materializations_for_node(node)
    return {key: value.value for key, value in materialization.metadata.items()}


def test_provision_job_runs_everything_and_a_second_run_changes_nothing(
    own_broker: str,
    nats_url: str,
    clickhouse_server: EmbeddedClickHouse,
    clickhouse: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LUCENT_SCHEMA_REGISTRY_URL", raising=False)
    resources = _resources(own_broker, nats_url, clickhouse_server.url, clickhouse.database)
    defs = dg.Definitions(assets=PROVISIONING, jobs=[provision_job], resources=resources)
    job = defs.resolve_job_def("provision")

    first = job.execute_in_process()
    assert first.success
    assert _metadata(first, "kafka_topics")["created"] == _metadata(first, "kafka_topics")["topics"]
    assert _metadata(first, "message_schemas")["registry"] == "not configured (checked only)"
    streams = _metadata(first, "nats_streams")
    assert streams["streams"] == len(STREAMS)
    tables = _metadata(first, "clickhouse_tables")
    assert tables["steps_applied"] >= len(load_migrations())
    for migration in load_migrations():
        assert f"| {migration.label} | applied now |" in tables["migrations"]
        assert migration.label in tables["pending_before"]

    second = job.execute_in_process()
    assert second.success
    again = _metadata(second, "kafka_topics")
    assert (again["created"], again["altered"], again["partition_drift"]) == (0, 0, 0)
    streams = _metadata(second, "nats_streams")
    assert (streams["created"], streams["updated"]) == (0, 0)
    tables = _metadata(second, "clickhouse_tables")
    assert tables["steps_applied"] == 0 and tables["applied_now"] == "nothing"
    assert "pending" not in tables["migrations"].replace("pending_before", "")

    names = set(AdminClient({"bootstrap.servers": own_broker}).list_topics(timeout=10).topics)
    assert {spec.name for spec in topics.fixed_topics()} <= names
    rows = clickhouse.query(
        "SELECT name FROM system.tables WHERE database = {db:String}",
        parameters={"db": clickhouse.database},
    ).result_rows
    existing = {name for (name,) in rows}
    assert {"prices", "trades", "market_data", "schema_migrations"} <= existing


def test_nats_streams_follow_the_catalog_and_the_replicas_setting(
    nats_url: str, settings: Settings
) -> None:
    async def run() -> None:
        client = await nats_adapter.connect(settings, nats_url)
        try:
            js = nats_adapter.jetstream(client)
            first = await nats_adapter.provision_streams(js, STREAMS, replicas=1)
            assert {r.status for r in first} <= {"created", "unchanged"}
            # someone shortened NOTIFY's retention by hand: the next run puts it back
            notify = next(s for s in STREAMS if s.name == "NOTIFY")
            changed = nats_adapter.stream_config(notify, 1)
            changed.max_age = 3600.0
            await js.update_stream(changed)
            second = await nats_adapter.provision_streams(js, STREAMS, replicas=1)
            by_name = {r.stream: r for r in second}
            assert by_name["NOTIFY"].status == "updated"
            assert by_name["NOTIFY"].changed == ("max_age",)
            info = await js.stream_info("NOTIFY")
            assert info.config.max_age == notify.max_age_s
            # three replicas cannot be placed on one server: reported, not raised
            third = await nats_adapter.provision_streams(js, STREAMS[:1], replicas=3)
            assert third[0].status.startswith("failed")
        finally:
            await client.close()

    asyncio.run(run())


def test_kafka_topics_repairs_config_drift_and_reports_missing_partitions(
    own_broker: str,
) -> None:
    admin = AdminClient({"bootstrap.servers": own_broker})
    prices = topics.normalized(topics.Kind.PRICES)
    wrong = NewTopic(prices, 2, 1, config={"retention.ms": "1000", "cleanup.policy": "delete"})
    [future.result() for future in admin.create_topics([wrong]).values()]
    resources = {"kafka": KafkaResource(bootstrap_servers=own_broker)}

    first = dg.materialize([kafka_topics], resources=resources)
    metadata = _metadata(first, "kafka_topics")
    assert metadata["altered"] == 1 and metadata["partition_drift"] == 1
    assert f"{prices}: 2/6 partitions" in metadata["partitions_short"]
    assert "retention.ms 1000 → 604800000" in metadata["config_drift"]
    assert "retention.bytes unset → 107374182400" in metadata["config_drift"]
    resource = ConfigResource(ConfigResource.Type.TOPIC, prices)
    configs = admin.describe_configs([resource])[resource].result()
    assert configs["retention.ms"].value == "604800000"
    assert configs["retention.bytes"].value == str(topics.RETENTION_BYTES)

    second = dg.materialize([kafka_topics], resources=resources)
    again = _metadata(second, "kafka_topics")
    assert (again["altered"], again["partition_drift"]) == (0, 1)  # still short: reported
    assert again["config_drift"] == "none"


def test_message_schemas_fail_naming_the_incompatible_schema(tmp_path: Path) -> None:
    root = tmp_path / "schemas"
    shutil.copytree(schema_files.SCHEMA_DIR, root)
    # v3 of price_update drops a required field's default and adds a required one
    newest = schema_files.versions("price_update", root=root)[-1]
    schema = schema_files.load("price_update", newest, root=root)
    schema["fields"].append({"name": "mandatory", "type": "string"})
    for fmt, ext in schema_files.FORMATS.items():
        source = schema_files.schema_path("price_update", newest, fmt, root)
        target = source.with_name(f"v{newest + 1}.{ext}")
        target.write_text(json.dumps(schema) if fmt == "avro" else source.read_text())

    result = dg.materialize(
        [message_schemas],
        resources={"schema_registry": SchemaRegistryResource()},
        run_config={"ops": {"message_schemas": {"config": {"schema_dir": str(root)}}}},
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    text = str(failure.step_failure_data.error)
    assert f"price_update: v{newest + 1} cannot read v{newest}" in text


def test_message_schemas_registration_fails_clearly_without_a_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Nothing listens on port 9 of loopback: the asset names the setting to fix.
    monkeypatch.setenv("LUCENT_SCHEMA_REGISTRY_URL", "http://127.0.0.1:9")
    result = dg.materialize(
        [message_schemas],
        resources={"schema_registry": SchemaRegistryResource()},
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "check LUCENT_SCHEMA_REGISTRY_URL" in str(failure.step_failure_data.error)
