-- Training datasets (issue 7 item 5): one row per interval, pair and bar, written by the
-- Dagster asset datasets/features for each day it materializes (the same rows as its Parquet
-- files). Feature and label columns depend on the dataset config (spans, lags, horizons), so
-- they are maps by name; NaN means unknown (a window not yet full, a label not yet known).
-- `time` is the bar's end: the row uses only data with event time before it.
-- Re-materializing a day deletes that day's rows of the pairs first, then inserts;
-- ReplacingMergeTree (version built_at) also collapses a row written twice by a crash between
-- the two steps. No TTL: datasets are kept until deleted.

CREATE TABLE IF NOT EXISTS {db}.dataset_features
(
    interval LowCardinality(String),
    pair     LowCardinality(String),
    time     DateTime64(3, 'UTC'),
    close    Float64,
    features Map(LowCardinality(String), Float64),
    labels   Map(LowCardinality(String), Float64),
    built_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(built_at)
PARTITION BY toYYYYMM(time)
ORDER BY (interval, pair, time);
