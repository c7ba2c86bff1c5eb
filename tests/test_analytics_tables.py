"""Every analytics table takes the rows ``to_row`` makes from real normalized envelopes, and the
Kafka-engine views extract the very same rows from the envelopes' JSON."""

from __future__ import annotations

import os
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import pytest

from lucent_platform.agents.predictions import PredictionRejected, Rejection, dead_letter
from lucent_platform.analytics import kafka_engine, migrate
from lucent_platform.analytics.insert import insert_rows
from lucent_platform.analytics.rows import (
    TABLE_FOR_TOPIC,
    TABLE_FOR_TYPE,
    dead_letter_row,
    retraction_row,
    to_row,
)
from lucent_platform.analytics.schema import TABLES, TIME
from lucent_platform.config import Settings, with_overrides
from lucent_platform.envelope import encode
from lucent_platform.processing import deadletter
from tests.analytics_data import recorded_market, recorded_trades, simulated
from tests.fixtures.clickhouse import fresh_database
from tests.message_samples import sample_envelope
from tests.test_chain_retractions import trade as chain_trade

if TYPE_CHECKING:
    from clickhouse_connect.driver import Client

SIGNALS_AND_DEFI = (
    "liquidation", "governance_event", "yield_opportunity", "price_alert", "arbitrage_opportunity",
    "liquidation_cascade", "model_prediction", "bridge_transfer", "pool_swap",
)  # fmt: skip


@pytest.fixture
def db_settings(settings: Settings, clickhouse: Client) -> Settings:
    return with_overrides(settings, clickhouse_database=clickhouse.database)


@pytest.fixture
def db(clickhouse: Client, db_settings: Settings) -> Client:
    """A client on this test's own, migrated database."""
    migrate(clickhouse, db_settings)
    return clickhouse


def everything() -> tuple[list[Any], list[Any]]:
    """Real normalized envelopes of every stored kind, and dead letters."""
    normalized, dead = simulated()
    envelopes = [*recorded_trades(), *recorded_market(), *normalized]
    envelopes += [sample_envelope(kind) for kind in SIGNALS_AND_DEFI]
    return envelopes, [*dead, rejected_prediction()]


def rejected_prediction() -> Any:
    """A dead letter the agents worker writes (its ``source`` row value is ``agents``)."""
    subject, payload = "agents.predictions.baseline.BTC-USDT", b"{not json"
    problem = PredictionRejected(Rejection.UNDECODABLE, "not JSON")
    return dead_letter(subject, 7, payload, problem, 1795132860000)


def expected_rows() -> dict[str, dict[str, tuple[Any, ...]]]:
    """``{table: {message_id: row}}`` of everything, as ``to_row`` maps it."""
    envelopes, dead = everything()
    by_table: dict[str, dict[str, tuple[Any, ...]]] = defaultdict(dict)
    for envelope in envelopes:
        row = to_row(envelope)
        if row is None:
            assert envelope.header.message_type == "orderbook_delta"
            continue
        by_table[TABLE_FOR_TYPE[envelope.header.message_type]][row[0]] = row
    for letter in dead:
        row = dead_letter_row(letter)
        by_table["dead_letters"][row[0]] = row
    for retraction in retractions():
        row = retraction_row(retraction)
        assert row is not None
        by_table["retractions"][row[0]] = row
    return by_table


def retractions() -> list[Any]:
    """A real on-chain trade (Uniswap V2, recorded) as a chain reorg retracts it."""
    return [chain_trade(removed=True)]


def stored(client: Client, table: str) -> dict[str, tuple[Any, ...]]:
    """The table's rows (deduplicated), times as epoch ms like ``to_row`` gives them."""
    select = ", ".join(
        f"toUnixTimestamp64Milli({c.name})" if c.type in (TIME, f"Nullable({TIME})") else c.name
        for c in TABLES[table]
    )
    rows = client.query(f"SELECT {select} FROM {table} FINAL").result_rows
    return {row[0]: tuple(row) for row in rows}


def test_every_table_stores_what_to_row_makes_of_real_envelopes(db: Client) -> None:
    expected = expected_rows()
    assert set(expected) == set(TABLES)
    for table, rows in expected.items():
        insert_rows(db, db.database, table, list(rows.values()))
        assert stored(db, table) == rows, table


def test_every_sink_topic_has_a_table() -> None:
    assert set(TABLE_FOR_TOPIC.values()) == set(TABLES)
    assert set(TABLE_FOR_TYPE.values()) | {"dead_letters", "retractions"} == set(TABLES)


def test_the_kafka_engine_views_extract_the_same_rows(db: Client, db_settings: Settings) -> None:
    # chDB has no running Kafka engine: the generated views read a Null table instead, which
    # fires them on insert exactly as the Kafka table does for each consumed block.
    for _, sql in kafka_engine.create_statements(db.database, db_settings, source_engine="Null"):
        db.command(sql)
    envelopes, dead = everything()
    frames: dict[str, list[list[str]]] = defaultdict(list)
    for envelope in envelopes:  # deltas included: the orderbook view must skip them
        table = TABLE_FOR_TYPE.get(envelope.header.message_type, "orderbook_top")
        frames[table].append([encode(envelope).decode()])
    frames["dead_letters"] = [[deadletter.encode(letter).decode()] for letter in dead]
    frames["retractions"] = [[encode(retraction).decode()] for retraction in retractions()]
    for table, values in frames.items():
        db.insert(f"kafka_{table}", values, column_names=["raw"])
    for table, rows in expected_rows().items():
        assert stored(db, table) == rows, table


def test_the_kafka_engine_ddl_names_every_topic(db_settings: Settings) -> None:
    settings = with_overrides(
        db_settings,
        kafka_bootstrap_servers="kafka-1:9092,kafka-2:9092",
        kafka_config={"security.protocol": "SASL_SSL", "sasl.mechanisms": "PLAIN"},
        kafka_sasl_username="ch",
        kafka_sasl_password="s'cret",
    )
    statements = dict(kafka_engine.create_statements("lucent", settings))
    assert list(statements)[:2] == ["kafka_prices", "kafka_prices_mv"]
    assert len(statements) == 2 * len(TABLES)
    for topic, table in TABLE_FOR_TOPIC.items():
        source = statements[f"kafka_{table}"]
        assert f"kafka_topic_list = '{topic}'" in source
        assert "kafka_broker_list = 'kafka-1:9092,kafka-2:9092'" in source
        assert "kafka_sasl_password = 's\\'cret'" in source
        assert "s\\'cret" not in kafka_engine.masked(source)
        assert f"TO `lucent`.{table} AS" in statements[f"kafka_{table}_mv"]
    with pytest.raises(ValueError, match="LUCENT_KAFKA_BOOTSTRAP_SERVERS"):
        kafka_engine.create_statements("lucent", db_settings)


@pytest.mark.skipif(
    not os.environ.get("LUCENT_CLICKHOUSE_URL"), reason="needs a real ClickHouse server"
)
def test_kafka_engine_mode_applies_on_a_real_server(settings: Settings) -> None:
    url = os.environ["LUCENT_CLICKHOUSE_URL"]
    user = os.environ.get("LUCENT_CLICKHOUSE_USER", "default")
    password = os.environ.get("LUCENT_CLICKHOUSE_PASSWORD", "")
    with fresh_database(url, username=user, password=password) as client:
        kafka = with_overrides(
            settings,
            clickhouse_database=client.database,
            clickhouse_ingest="kafka-engine",
            kafka_bootstrap_servers="127.0.0.1:9",  # consumers connect lazily: never reached
        )
        steps = migrate(client, kafka)
        assert {s.what for s in steps} >= {f"kafka-engine kafka_{t}" for t in TABLES}
        assert migrate(client, kafka) == []
        back = migrate(client, with_overrides(kafka, clickhouse_ingest="sink"))
        assert [s.what for s in back] == ["ingest by sink: drop Kafka-engine objects"]
