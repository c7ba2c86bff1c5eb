"""``stream_observations_sensor``: every minute, lag, throughput and freshness of every topic and
table the workers write, recorded as asset observations (the UI plots them over time).

Per topic (``kafka/<topic>``): ``lag <group>`` for each consumer group that reads it (records
not yet committed past), ``lag total``, ``messages written`` (summed high watermarks),
``throughput msg/s`` since the previous observation (the sensor cursor keeps the last count
and time per topic), and ``newest record`` (the latest partition's last record timestamp).
Per table (``clickhouse/<table>``): ``rows`` and ``newest row``. Both carry the newest time as
``dagster/last_updated_timestamp``, which Dagster's last-update freshness checks read.
The stream monitor's open alerts (``monitoring.alerts``): each feed (``feeds/<source>``) and
``kafka/market.prices.all`` get ``open alerts`` (0 when none, so a resolved alert leaves the
UI) with ``alert kinds``, ``alert sources`` and ``alerts``, and their checks
(``assets.monitor_alerts``: ``stream_monitor``, ``price_deviation``) an evaluation that fails
while an alert concerning them is open.

No ``from __future__ import annotations`` here: Dagster reads the sensor's annotations.
"""

import time
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from confluent_kafka import TopicPartition

from assets import monitor_alerts
from assets.keys import table_key, topic_key
from lucent_platform import lag, topology
from lucent_platform.adapters import kafka as kafka_adapter
from lucent_platform.analytics.catalog import downstream_tables, time_column
from lucent_platform.analytics.migrate import quote_name
from lucent_platform.analytics.rows import TABLE_FOR_TOPIC
from lucent_platform.monitoring.status import open_alerts_on
from resources.clickhouse import ClickHouseResource
from resources.endpoints import platform_settings
from resources.kafka import KafkaResource

LAST_UPDATED = "dagster/last_updated_timestamp"
OBSERVER_GROUP = "lucent-observer"  # only names the probe consumer: it never joins or commits


@dg.sensor(
    name="stream_observations_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Consumer lag, throughput and freshness of every topic, row counts and "
    "freshness of every ClickHouse table, and the stream monitor's open alerts (on the feeds "
    "and market.prices.all, with their checks), as asset observations every minute.",
)
def stream_observations_sensor(
    context: dg.SensorEvaluationContext, kafka: KafkaResource, clickhouse: ClickHouseResource
) -> dg.SensorResult:
    marks = lag.decode_marks(context.cursor)
    events: list[dg.AssetObservation | dg.AssetCheckEvaluation] = []
    failures = []
    try:
        observed, marks = observe_topics(kafka, marks)
        events += observed
    except Exception as exc:  # one service down must not hide the other's observations
        failures.append(f"kafka: {exc}")
    try:
        events += observe_alerts(kafka)
    except Exception as exc:
        failures.append(f"monitoring alerts: {exc}")
    try:
        observed, unreadable = observe_tables(clickhouse)
        events += observed
        failures += [f"clickhouse {table}: {why}" for table, why in unreadable.items()]
    except Exception as exc:
        failures.append(f"clickhouse: {exc}")
    for failure in failures:
        context.log.warning("stream observation failed — %s", failure)
    if not events and failures:
        raise RuntimeError("; ".join(failures))
    return dg.SensorResult(asset_events=merged(events), cursor=lag.encode_marks(marks))


def merged(
    events: list[dg.AssetObservation | dg.AssetCheckEvaluation],
) -> list[dg.AssetObservation | dg.AssetCheckEvaluation]:
    """One observation per asset (``kafka/market.prices.all`` has its figures and its alerts
    in one, so the UI's latest observation shows both), in the order first seen."""
    out: list[dg.AssetObservation | dg.AssetCheckEvaluation] = []
    index: dict[dg.AssetKey, int] = {}
    for event in events:
        if not isinstance(event, dg.AssetObservation):
            out.append(event)
        elif event.asset_key in index:
            first = out[index[event.asset_key]]
            metadata = {**first.metadata, **event.metadata}
            out[index[event.asset_key]] = dg.AssetObservation(event.asset_key, metadata=metadata)
        else:
            index[event.asset_key] = len(out)
            out.append(event)
    return out


def observe_topics(
    kafka: KafkaResource, marks: dict[str, lag.Mark]
) -> tuple[list[dg.AssetObservation], dict[str, lag.Mark]]:
    """Observations of every pipeline topic that exists, and the new marks for the cursor."""
    settings = kafka.settings()
    flows = topology.flows(topology.raw_topics(settings.exchanges, settings.pairs, settings.feed))
    probe = kafka.consumer(OBSERVER_GROUP)
    try:
        existing = probe.list_topics(timeout=10).topics
        partitions = [
            TopicPartition(name, p)
            for name in flows
            if name in existing
            for p in existing[name].partitions
        ]
        tails = kafka_adapter.tails(probe, partitions)
    finally:
        probe.close()
    now_ms = int(time.time() * 1000)
    admin = kafka.admin()
    committed: dict[str, dict[tuple[str, int], int]] = {}
    for group in topology.GROUPS:
        read = [tp for tp in partitions if group in flows[tp.topic].readers]
        committed[group] = kafka_adapter.committed_offsets(admin, group, read)
    events, new_marks = [], dict(marks)
    for name, flow in flows.items():
        topic_tails = {key: tail for key, tail in tails.items() if key[0] == name}
        if name not in existing:
            continue
        ends = {key: (tail.low, tail.high) for key, tail in topic_tails.items()}
        mark = lag.Mark(lag.written(ends), now_ms)
        metadata: dict[str, Any] = {"messages written": mark.written, "partitions": len(ends)}
        rate = lag.throughput(marks.get(name), mark)
        if rate is not None:
            metadata["throughput msg/s"] = rate
        lags = {group: lag.group_lag(ends, committed[group]) for group in flow.readers}
        for group, value in lags.items():
            if value is not None:
                metadata[f"lag {group}"] = value
        if any(value is not None for value in lags.values()):
            metadata["lag total"] = sum(value or 0 for value in lags.values())
        newest = lag.newest(tail.newest_ms for tail in topic_tails.values())
        if newest is not None:
            metadata["newest record"] = dg.MetadataValue.timestamp(newest / 1000)
            metadata[LAST_UPDATED] = dg.MetadataValue.timestamp(newest / 1000)
        events.append(dg.AssetObservation(topic_key(name), metadata=metadata))
        new_marks[name] = mark
    return events, new_marks


def observe_alerts(
    kafka: KafkaResource,
) -> list[dg.AssetObservation | dg.AssetCheckEvaluation]:
    """The open alerts as observations of the assets they concern, and the checks' verdicts."""
    settings = kafka.settings()
    specs = monitor_alerts.check_specs(settings)
    alerts = open_alerts_on(settings, kafka.bootstrap())
    events: list[dg.AssetObservation | dg.AssetCheckEvaluation] = []
    for f in monitor_alerts.findings(alerts, specs):
        events.append(dg.AssetObservation(f.asset, metadata=f.metadata))
        events.append(
            dg.AssetCheckEvaluation(
                asset_key=f.asset,
                check_name=f.check,
                passed=f.passed,
                severity=f.severity,
                metadata=f.metadata,
            )
        )
    return events


def observe_tables(
    clickhouse: ClickHouseResource,
) -> tuple[list[dg.AssetObservation], dict[str, str]]:
    """Row count and newest row time of every pipeline table that exists; and the tables
    that could not be read, with the reason (one bad table does not hide the others)."""
    database = clickhouse.database or platform_settings().clickhouse_database
    wanted = set(TABLE_FOR_TOPIC.values()) | downstream_tables(TABLE_FOR_TOPIC.values())
    client = clickhouse.client()
    try:
        columns: dict[str, list[str]] = {}
        rows = client.query(
            "SELECT table, name FROM system.columns WHERE database = {db:String}",
            parameters={"db": database},
        ).result_rows
        for table, column in rows:
            if table in wanted:
                columns.setdefault(table, []).append(column)
        events, failures = [], {}
        for table in sorted(columns):
            column = time_column(columns[table])
            newest = f"max({quote_name(column)})" if column else "NULL"
            try:
                count, latest = client.query(
                    f"SELECT count(), {newest} FROM {quote_name(database)}.{quote_name(table)}"
                ).result_rows[0]
            except Exception as exc:
                failures[table] = str(exc)
                continue
            metadata: dict[str, Any] = {"rows": int(count)}
            if isinstance(latest, datetime) and count:
                # clickhouse-connect hands back naive datetimes for UTC columns
                seconds = (latest if latest.tzinfo else latest.replace(tzinfo=UTC)).timestamp()
                if seconds > 0:
                    metadata["newest row"] = dg.MetadataValue.timestamp(seconds)
                    metadata[LAST_UPDATED] = dg.MetadataValue.timestamp(seconds)
            events.append(dg.AssetObservation(table_key(table), metadata=metadata))
        return events, failures
    finally:
        client.close()
