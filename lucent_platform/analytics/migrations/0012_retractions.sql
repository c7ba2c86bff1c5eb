-- On-chain messages a chain reorg took back (issue 9): a log the node reports `removed: true`
-- is decoded to the same message id as the original, flagged `retracted`; the processor
-- routes it to market.retractions and the sink records it here, then deletes the original's
-- row from `target_table` (a lightweight DELETE by message_id: idempotent, so a replayed
-- batch deletes nothing twice). The record stays, so "what did the reorg take back" is a query.
-- Not undone: aggregates already folded from the original (the candles' materialized views).

CREATE TABLE IF NOT EXISTS {db}.retractions
(
    message_id    String,
    event_time    DateTime64(3, 'UTC'),
    received_time DateTime64(3, 'UTC'),
    source        LowCardinality(String),
    inserted_at   DateTime64(3, 'UTC') DEFAULT now64(3),
    message_type  LowCardinality(String),
    target_table  LowCardinality(String),
    chain         LowCardinality(Nullable(String)),
    block_number  Nullable(Int64),
    tx_hash       Nullable(String),
    log_index     Nullable(Int64)
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (target_table, event_time, message_id)
SETTINGS non_replicated_deduplication_window = 1000;
