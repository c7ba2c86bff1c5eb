"""Asset keys of the platform's data, one convention for every asset module.

Streams and tables are Dagster assets keyed by where they live, so lineage reads
``feeds/binance`` → ``kafka/market.prices.binance.btc-usdt`` → ``kafka/market.prices.all`` →
``clickhouse/prices`` → ``datasets/features_1m``:

    feed_key("binance")              # AssetKey(["feeds", "binance"])
    topic_key("market.prices.all")   # AssetKey(["kafka", "market.prices.all"])
    table_key("prices")              # AssetKey(["clickhouse", "prices"])
    stream_key("DOMAIN")             # AssetKey(["nats", "DOMAIN"])
    dataset_key("features_1m")       # AssetKey(["datasets", "features_1m"])

No ``from __future__ import annotations`` needed: nothing here is read by Dagster's decorators.
"""

import dagster as dg

FEEDS = "feeds"
KAFKA = "kafka"
CLICKHOUSE = "clickhouse"
NATS = "nats"
DATASETS = "datasets"
MODELS = "models"
ARCHIVE = "archive"


def feed_key(source: str) -> dg.AssetKey:
    """A market data source a feed reads (an exchange or a DeFi protocol, as its topic segment)."""
    return dg.AssetKey([FEEDS, source])


def topic_key(topic: str) -> dg.AssetKey:
    """A Kafka topic (names from ``lucent_platform.topics``)."""
    return dg.AssetKey([KAFKA, topic])


def table_key(table: str) -> dg.AssetKey:
    """A ClickHouse table or materialized view of the analytics database."""
    return dg.AssetKey([CLICKHOUSE, table])


def stream_key(stream: str) -> dg.AssetKey:
    """A NATS JetStream stream (names from ``lucent_platform.subjects``)."""
    return dg.AssetKey([NATS, stream])


def dataset_key(name: str) -> dg.AssetKey:
    """A training dataset (Parquet files and their ClickHouse table)."""
    return dg.AssetKey([DATASETS, name])


def model_key(name: str) -> dg.AssetKey:
    """A trained model."""
    return dg.AssetKey([MODELS, name])


def archive_key(name: str) -> dg.AssetKey:
    """Parquet archives of ClickHouse data (``raw_tables``: every raw table, by day)."""
    return dg.AssetKey([ARCHIVE, name])
