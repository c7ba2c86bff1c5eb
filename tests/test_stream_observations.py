"""The stream observation sensor against the real broker and ClickHouse: consumer lag per
group, throughput between two evaluations and freshness, exactly; table rows and freshness."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import msgspec
import pytest
from clickhouse_connect.driver import Client
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from assets.keys import table_key, topic_key
from lucent_platform import lag, topics, topology
from lucent_platform.analytics.migrate import migrate
from lucent_platform.config import Settings, with_overrides
from resources import ClickHouseResource, KafkaResource
from sensors.stream_observations import LAST_UPDATED, stream_observations_sensor
from tests.fixtures.clickhouse import EmbeddedClickHouse

PRICES = topics.normalized(topics.Kind.PRICES)
BASE_MS = 1_790_000_000_000


def _produce(bootstrap: str, partition: int, count: int, first_ts: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(count):
        producer.produce(PRICES, b"{}", key=b"BTC-USDT", partition=partition,
                         timestamp=first_ts + i)  # fmt: skip
    assert producer.flush(10) == 0


def _commit(bootstrap: str, group: str, offsets: dict[int, int]) -> None:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        consumer.commit(
            offsets=[TopicPartition(PRICES, p, o) for p, o in offsets.items()],
            asynchronous=False,
        )
    finally:
        consumer.close()


def _observations(result: dg.SensorResult) -> dict[dg.AssetKey, dict]:
    return {
        event.asset_key: {k: v.value for k, v in event.metadata.items()}
        for event in result.asset_events or []
        if isinstance(event, dg.AssetObservation)
    }


@pytest.fixture
def observed_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # One instrument keeps the topic list short; nothing but the test's topic exists anyway.
    monkeypatch.setenv("LUCENT_EXCHANGES", "binance")
    monkeypatch.setenv("LUCENT_PAIRS", "BTC-USDT")


@pytest.mark.usefixtures("observed_env")
def test_sensor_records_lag_throughput_and_freshness_of_topics_and_tables(
    own_broker: str,
    clickhouse_server: EmbeddedClickHouse,
    clickhouse: Client,
    settings: Settings,
) -> None:
    admin = AdminClient({"bootstrap.servers": own_broker})
    topic = NewTopic(PRICES, 2, 1, config={"retention.ms": "604800000"})
    [future.result() for future in admin.create_topics([topic]).values()]
    _produce(own_broker, 0, 10, BASE_MS)
    _produce(own_broker, 1, 5, BASE_MS + 100)
    _commit(own_broker, topology.ARBITRAGE, {0: 4})  # partition 1 never committed
    _commit(own_broker, topology.SINK, {0: 10, 1: 5})

    database = clickhouse.database
    migrate(clickhouse, with_overrides(settings, clickhouse_database=database))
    clickhouse.insert(
        "prices",
        [
            ("a", BASE_MS, BASE_MS, "s", "binance", "BTC-USDT", 1.0),
            ("b", BASE_MS + 1500, BASE_MS + 1500, "s", "binance", "BTC-USDT", 2.0),
            ("c", BASE_MS + 500, BASE_MS + 500, "s", "kraken", "BTC-USDT", 3.0),
        ],
        column_names=["message_id", "event_time", "received_time", "source", "exchange",
                      "pair", "price"],
        database=database,
    )  # fmt: skip
    resources = {
        "kafka": KafkaResource(bootstrap_servers=own_broker),
        "clickhouse": ClickHouseResource(url=clickhouse_server.url, database=database),
    }

    first = stream_observations_sensor(dg.build_sensor_context(resources=resources))
    assert isinstance(first, dg.SensorResult)
    seen = _observations(first)
    prices = seen[topic_key(PRICES)]
    assert prices["messages written"] == 15
    assert prices[f"lag {topology.ARBITRAGE}"] == (10 - 4) + 5
    assert prices[f"lag {topology.SINK}"] == 0
    assert f"lag {topology.ALERTS}" not in prices  # committed nothing: reads nothing yet
    assert prices["lag total"] == 11
    assert "throughput msg/s" not in prices  # nothing to compare with yet
    assert prices["newest record"] == (BASE_MS + 104) / 1000  # partition 1's last record
    assert prices[LAST_UPDATED] == prices["newest record"]
    assert topic_key(topics.DEADLETTER) not in seen  # not on this broker: not observed

    table = seen[table_key("prices")]
    assert table["rows"] == 3
    assert table["newest row"] == 1_790_000_001.5
    assert seen[table_key("market_data")] == {"rows": 0}  # no trades, no candles, no time
    assert table_key("trades") in seen and table_key("yields_latest") in seen

    _produce(own_broker, 1, 6, BASE_MS + 200)
    second = stream_observations_sensor(
        dg.build_sensor_context(cursor=first.cursor, resources=resources)
    )
    assert isinstance(second, dg.SensorResult)
    before = lag.decode_marks(first.cursor)[PRICES]
    after = lag.decode_marks(second.cursor)[PRICES]
    assert (before.written, after.written) == (15, 21)
    prices = _observations(second)[topic_key(PRICES)]
    assert prices["throughput msg/s"] == 6 * 1000 / (after.at_ms - before.at_ms)
    assert prices[f"lag {topology.ARBITRAGE}"] == 6 + 11
    assert prices["newest record"] == (BASE_MS + 205) / 1000
    assert datetime.fromtimestamp(prices["newest record"], UTC).year == 2026


def test_sensor_is_registered_every_minute_and_on_by_default() -> None:
    assert stream_observations_sensor.minimum_interval_seconds == 60
    assert stream_observations_sensor.default_status == dg.DefaultSensorStatus.RUNNING


def _alert(kind: str, source: str, severity: str, opened: int, resolved: int | None = None):
    from lucent_platform.messages.monitoring import MonitoringAlert

    return MonitoringAlert(
        alert_id=f"{kind}-{source}", kind=kind, severity=severity, source=source,  # type: ignore[arg-type]
        detail=f"{source} detail", opened_at_ms=opened, resolved_at_ms=resolved,
    )  # fmt: skip


@pytest.mark.usefixtures("observed_env")
def test_sensor_shows_the_monitors_open_alerts_on_the_feeds_and_fails_their_checks(
    own_broker: str, clickhouse_server: EmbeddedClickHouse, clickhouse: Client
) -> None:
    """Alerts on monitoring.alerts: binance stale (open), a price deviation opened then
    resolved, coinbase (no feed configured) failing. binance's feed asset shows the alert and
    its stream_monitor check fails (WARN); market.prices.all's price_deviation check passes.
    Once binance's alert resolves, its check passes and ``open alerts`` is back to 0."""
    from assets.keys import feed_key
    from assets.monitor_alerts import DEVIATION_CHECK, SOURCE_CHECK
    from lucent_platform.monitoring.alerts import envelope_bytes

    admin = AdminClient({"bootstrap.servers": own_broker})
    [f.result() for f in admin.create_topics([NewTopic(topics.MONITORING_ALERTS, 1, 1)]).values()]
    producer = Producer({"bootstrap.servers": own_broker})
    stale = _alert("stale_source", "binance", "warning", BASE_MS)
    for alert in (stale, _alert("price_deviation", "BTC-USDT", "warning", BASE_MS),
                  _alert("price_deviation", "BTC-USDT", "warning", BASE_MS, BASE_MS + 5_000),
                  _alert("failure_rate", "coinbase", "warning", BASE_MS)):  # fmt: skip
        producer.produce(topics.MONITORING_ALERTS, envelope_bytes(alert), alert.alert_id.encode())
    assert producer.flush(10) == 0
    resources = {
        "kafka": KafkaResource(bootstrap_servers=own_broker),
        "clickhouse": ClickHouseResource(url=clickhouse_server.url, database=clickhouse.database),
    }

    def evaluate() -> tuple[
        dict[dg.AssetKey, dict], dict[tuple[dg.AssetKey, str], dg.AssetCheckEvaluation]
    ]:
        result = stream_observations_sensor(dg.build_sensor_context(resources=resources))
        assert isinstance(result, dg.SensorResult)
        checks = {(e.asset_key, e.check_name): e for e in result.asset_events or []
                  if isinstance(e, dg.AssetCheckEvaluation)}  # fmt: skip
        return _observations(result), checks

    seen, checks = evaluate()
    binance = seen[feed_key("binance")]
    assert binance["open alerts"] == 1 and binance["alert kinds"] == "stale_source"
    assert "**stale_source** binance (warning)" in binance["alerts"]
    failed = checks[(feed_key("binance"), SOURCE_CHECK)]
    assert not failed.passed and failed.severity == dg.AssetCheckSeverity.WARN
    deviation = checks[(topic_key(PRICES), DEVIATION_CHECK)]
    assert deviation.passed and seen[topic_key(PRICES)]["open alerts"] == 0
    assert feed_key("coinbase") not in seen  # no feed of it is configured
    assert {check for _, check in checks} == {SOURCE_CHECK, DEVIATION_CHECK}

    producer.produce(topics.MONITORING_ALERTS,
                     envelope_bytes(msgspec.structs.replace(stale, resolved_at_ms=BASE_MS + 9)),
                     stale.alert_id.encode())  # fmt: skip
    assert producer.flush(10) == 0
    seen, checks = evaluate()
    assert seen[feed_key("binance")] == {"open alerts": 0}
    assert checks[(feed_key("binance"), SOURCE_CHECK)].passed
