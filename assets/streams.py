"""The streams and tables the workers write, as external assets: lineage in the Dagster UI.

Dagster never runs these (the streaming workers do); it shows them, with their metadata, and
the observation sensor records their lag, throughput and freshness. The graph reads

    feeds/binance → kafka/market.prices.binance.btc-usdt → kafka/market.prices.all
        → kafka/arbitrage.opportunities → clickhouse/arbitrage_opportunities
    kafka/market.trades.all → clickhouse/trades → clickhouse/market_data → clickhouse/market_data_1h

Built from the settings passed in (the configured exchanges × pairs and the feed), by
``lucent_platform.definitions`` when the code location loads: nothing is read at import.
"""

from __future__ import annotations

import dagster as dg

from assets.keys import feed_key, table_key, topic_key
from lucent_platform import topics as catalog
from lucent_platform import topology
from lucent_platform.analytics.catalog import TableFacts, downstream_tables, table_facts
from lucent_platform.analytics.rows import TABLE_FOR_TOPIC
from lucent_platform.analytics.schema import TABLES
from lucent_platform.config import Settings

STREAMS_GROUP = "streams"
ANALYTICS_GROUP = "analytics"


def stream_specs(settings: Settings) -> list[dg.AssetSpec]:
    """Every feed, topic and table of the pipeline, wired upstream to downstream."""
    raw = topology.raw_topics(settings.exchanges, settings.pairs, settings.feed)
    flows = topology.flows(raw)
    return [
        *feed_specs(raw, settings.feed),
        *(topic_spec(flow, settings) for flow in flows.values()),
        *table_specs(settings),
    ]


def _source(raw_topic: str) -> str:
    return raw_topic.split(".")[2]  # market.{kind}.{source}[.{instrument}]


def feed_specs(raw: list[str], feed: str) -> list[dg.AssetSpec]:
    mode = feed.split(":", 1)[0]  # simulate | replay | live
    return [
        dg.AssetSpec(
            feed_key(source),
            description=f"Market data from {source}, ingested by `lucent worker feed` "
            f"(LUCENT_FEED={feed}).",
            kinds={mode},
            group_name=STREAMS_GROUP,
            metadata={
                "feed": feed,
                "raw_topics": dg.MetadataValue.md(
                    "\n".join(f"- {t}" for t in raw if _source(t) == source)
                ),
            },
        )
        for source in dict.fromkeys(_source(t) for t in raw)
    ]


def topic_spec(flow: topology.Flow, settings: Settings) -> dg.AssetSpec:
    spec = _catalog(settings).get(flow.topic)
    deps = [topic_key(t) for t in flow.upstream]
    if flow.writer == "feed":
        deps = [feed_key(_source(flow.topic))]
    metadata: dict[str, object] = {
        "writer": flow.writer,
        "consumer_groups": ", ".join(flow.readers) or "none",
    }
    if spec is None:  # a simulated DeFi pool: the broker creates it on first write
        metadata |= {"partitions": "broker default (created on first write)", "key": "protocol"}
        description = "raw yields of one pool"
    else:
        row = catalog.describe(spec)
        metadata |= {"partitions": row["partitions"], "retention": row["policy"], "key": row["key"]}
        description = spec.description
    return dg.AssetSpec(
        topic_key(flow.topic),
        deps=deps,
        description=f"Kafka topic {flow.topic}: {description}.",
        kinds={"kafka"},
        group_name=STREAMS_GROUP,
        metadata=metadata,
    )


def _catalog(settings: Settings) -> dict[str, catalog.TopicSpec]:
    specs = catalog.fixed_topics() + catalog.instrument_topics(settings.exchanges, settings.pairs)
    return {spec.name: spec for spec in specs}


def table_specs(settings: Settings) -> list[dg.AssetSpec]:
    """The tables the sink fills (one per topic), and the tables their views fill."""
    facts = table_facts()
    writer = (
        f"`lucent worker clickhouse-sink` (group {topology.SINK})"
        if settings.clickhouse_ingest == "sink"
        else "the server's Kafka engine table and its materialized view"
    )
    specs = [
        _table_spec(
            # a table no migration creates yet still shows (its DDL is then missing)
            facts.get(table) or TableFacts(table, "not created by any migration", "", ""),
            settings,
            deps=[topic_key(topic)],
            writer=writer,
            source=f"Kafka topic {topic}",
        )
        for topic, table in TABLE_FOR_TOPIC.items()
    ]
    for table in sorted(downstream_tables(TABLE_FOR_TOPIC.values(), facts)):
        f = facts[table]
        specs.append(
            _table_spec(
                f,
                settings,
                deps=[table_key(s) for s in f.sources],
                writer="materialized view " + ", ".join(f.views),
                source="table " + ", ".join(f.sources),
            )
        )
    return specs


def _table_spec(
    facts: TableFacts, settings: Settings, *, deps: list[dg.AssetKey], writer: str, source: str
) -> dg.AssetSpec:
    metadata: dict[str, object] = {
        "dagster/table_name": f"{settings.clickhouse_database}.{facts.name}",
        "engine": facts.engine,
        "order_by": facts.order_by,
        "writer": writer,
        "migration": facts.migration,
    }
    if facts.name in TABLES:
        metadata["dagster/column_schema"] = dg.TableSchema(
            columns=[dg.TableColumn(c.name, c.type) for c in TABLES[facts.name]]
        )
    return dg.AssetSpec(
        table_key(facts.name),
        deps=deps,
        description=f"ClickHouse table {facts.name}, filled from {source}.",
        kinds={"clickhouse"},
        group_name=ANALYTICS_GROUP,
        metadata=metadata,
    )
