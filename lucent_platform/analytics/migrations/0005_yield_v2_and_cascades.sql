-- YieldOpportunity v2 (the yield detector, issue #6): the rest of the APY statistics, every
-- rate of the window, and the phase (`opening` as soon as the evidence sufficed, `final` at
-- the window's close). Rows stored before stay NULL there, as v1 messages decode.
-- And the liquidation-cascade pattern's records (`market.patterns`, `liquidation_cascade`).

ALTER TABLE {db}.yield_opportunities
    ADD COLUMN IF NOT EXISTS min_apy Nullable(Float64),
    ADD COLUMN IF NOT EXISTS apy_stdev Nullable(Float64),
    ADD COLUMN IF NOT EXISTS window_samples Nullable(Int64),
    ADD COLUMN IF NOT EXISTS phase LowCardinality(Nullable(String));

CREATE TABLE IF NOT EXISTS {db}.liquidation_cascades
(
    message_id        String,
    event_time        DateTime64(3, 'UTC'),
    received_time     DateTime64(3, 'UTC'),
    source            LowCardinality(String),
    inserted_at       DateTime64(3, 'UTC') DEFAULT now64(3),
    protocol          LowCardinality(String),
    chain             LowCardinality(String),
    collateral_asset  LowCardinality(String),
    window_start      DateTime64(3, 'UTC'),
    window_end        DateTime64(3, 'UTC'),
    liquidations      Int64,
    collateral_amount Float64,
    price_pair        LowCardinality(String),
    price_high        Float64,
    price_low         Float64,
    drop_pct          Float64,
    value_usd         Nullable(Float64)
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (protocol, collateral_asset, window_start, message_id)
SETTINGS non_replicated_deduplication_window = 1000;
