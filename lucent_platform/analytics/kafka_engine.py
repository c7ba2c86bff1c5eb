"""Kafka-engine mode: a real ClickHouse server reads the topics itself (issue #5, item 4).

The design record's pipeline, generated from the same column catalog as the sink's rows
(``schema.TABLES``): per raw table, a ``Kafka`` table that receives each envelope as one JSON
string (``JSONAsString``: our envelope nests ``header``/``data``/``metadata``, which
``JSONEachRow`` cannot map onto flat columns), and a materialized view that extracts the
columns with ``JSONExtract`` into the raw table. The candles then follow from ``trades`` as in
sink mode. For ``market.trades.all``::

    CREATE TABLE db.kafka_trades (raw String) ENGINE = Kafka SETTINGS
        kafka_broker_list = 'kafka:9092', kafka_topic_list = 'market.trades.all',
        kafka_group_name = 'lucent-clickhouse-db-trades', kafka_format = 'JSONAsString', …
    CREATE MATERIALIZED VIEW db.kafka_trades_mv TO db.trades AS
        SELECT JSONExtract(raw, 'header', 'messageId', 'String') AS message_id, …
        FROM db.kafka_trades WHERE JSONExtractString(raw, 'header', 'messageType') = 'trade'

Chosen with ``LUCENT_CLICKHOUSE_INGEST=kafka-engine``; ``lucent clickhouse migrate`` then
creates these objects (and drops them again when the setting is back to ``sink``, so two
writers never fill the same tables). The server must reach Kafka at
``LUCENT_KAFKA_BOOTSTRAP_SERVERS``; SASL settings are passed on from ``LUCENT_KAFKA_CONFIG``
and ``LUCENT_KAFKA_SASL_*``. The Kafka engine commits offsets after its insert, so it is
at-least-once as well: raw tables stay deduplicated by ReplacingMergeTree, while a re-read
block counts again in the candles (``candles.rebuild`` repairs whole days). chDB's Kafka
engine does not run in-process, so the embedded server always uses the sink.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lucent_platform.analytics.rows import TABLE_FOR_TOPIC, TABLE_FOR_TYPE
from lucent_platform.analytics.schema import TABLES

if TYPE_CHECKING:
    from lucent_platform.config import Settings

_TOPICS = {table: topic for topic, table in TABLE_FOR_TOPIC.items()}
_TYPES = {table: message_type for message_type, table in TABLE_FOR_TYPE.items()}
_PASSWORD = re.compile(r"(kafka_sasl_password = )'(?:[^'\\]|\\.)*'")


def object_names() -> list[str]:
    """Every object this mode creates, views before the tables they read (the drop order)."""
    return [f"kafka_{table}_mv" for table in TABLES] + [f"kafka_{table}" for table in TABLES]


def create_statements(
    database: str, settings: Settings, *, source_engine: str | None = None
) -> list[tuple[str, str]]:
    """``(object name, CREATE statement)`` pairs: each Kafka table, then its view.

    ``source_engine`` replaces the ``Kafka`` engine clause (tests use ``Null`` to run the
    views on a server without the Kafka engine).
    """
    db = _name(database)
    statements = []
    for table, columns in TABLES.items():
        topic = _TOPICS[table]
        engine = source_engine or _kafka_engine(
            settings, topic, f"lucent-clickhouse-{database}-{table}"
        )
        source = f"kafka_{table}"
        statements.append(
            (source, f"CREATE TABLE IF NOT EXISTS {db}.{source} (raw String)\nENGINE = {engine}")
        )
        selected = ",\n    ".join(f"{column.expr} AS {column.name}" for column in columns)
        where = ""
        if table in _TYPES:
            where = f"\nWHERE JSONExtractString(raw, 'header', 'messageType') = '{_TYPES[table]}'"
        statements.append(
            (
                f"{source}_mv",
                f"CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{source}_mv TO {db}.{table} AS\n"
                f"SELECT\n    {selected}\nFROM {db}.{source}{where}",
            )
        )
    return statements


def masked(sql: str) -> str:
    """The statement with the SASL password hidden, for printing."""
    return _PASSWORD.sub(r"\1'***'", sql)


def _kafka_engine(settings: Settings, topic: str, group: str) -> str:
    brokers = settings.kafka_bootstrap_servers
    if not brokers:
        raise ValueError(
            "LUCENT_CLICKHOUSE_INGEST=kafka-engine needs LUCENT_KAFKA_BOOTSTRAP_SERVERS: the "
            "Kafka address as the ClickHouse server sees it"
        )
    options = {
        "kafka_broker_list": brokers,
        "kafka_topic_list": topic,
        "kafka_group_name": group,
        "kafka_format": "JSONAsString",
        "kafka_num_consumers": "1",
        "kafka_skip_broken_messages": "1000",
    }
    # security from the one librdkafka config every client is built from
    common = settings.kafka_common(brokers)
    for key in ("security.protocol", "sasl.mechanisms", "sasl.username", "sasl.password"):
        if key in common:
            options["kafka_" + key.replace(".", "_")] = str(common[key])
    numeric = {"kafka_num_consumers", "kafka_skip_broken_messages"}
    body = ",\n    ".join(
        f"{name} = {value if name in numeric else _literal(value)}"
        for name, value in options.items()
    )
    return f"Kafka\nSETTINGS\n    {body}"


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _name(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"
