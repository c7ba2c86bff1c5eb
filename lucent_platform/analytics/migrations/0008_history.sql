-- Historical backfills (issue #7 item 4): candles and trades fetched from exchanges' REST APIs
-- through ccxt by the Dagster assets ohlcv_history and trades_history, one partition per
-- instrument (exchange, pair) and UTC day.
--
-- Idempotent per partition: a run deletes its partition's range and inserts what the exchange
-- served (lucent_platform/history/store.py says why that order is correct on the embedded chDB
-- server and on a real server). ReplacingMergeTree keyed by the natural key makes two runs of
-- one partition racing harmless: the duplicate rows collapse in merges and FINAL reads one.
-- The version is ingested_at, so the latest fetch wins.
--
-- No TTL: history is what a backfill was run for; it is not hot data. Partitions are months of
-- the rows' own time.
-- {db} is the database (LUCENT_CLICKHOUSE_DATABASE); statements end with ';' at a line end.

CREATE TABLE IF NOT EXISTS {db}.ohlcv_history
(
    exchange    LowCardinality(String),
    pair        LowCardinality(String),
    interval    LowCardinality(String),
    open_time   DateTime64(3, 'UTC'),
    open        Float64,
    high        Float64,
    low         Float64,
    close       Float64,
    volume      Float64,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(open_time)
ORDER BY (exchange, pair, interval, open_time);

CREATE TABLE IF NOT EXISTS {db}.trades_history
(
    exchange    LowCardinality(String),
    pair        LowCardinality(String),
    trade_id    String,
    time        DateTime64(3, 'UTC'),
    price       Float64,
    amount      Float64,
    side        LowCardinality(Nullable(String)),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(time)
ORDER BY (exchange, pair, time, trade_id);
