-- On-chain raw events (issue 9): canonical-bridge transfers of Arbitrum, Optimism and Base
-- (market.bridges.all) and swaps/syncs of DEX pools the registry does not know
-- (market.swaps.all). Token amounts are kept as the chain's exact integers in decimal text
-- (amount_raw, amount0/1, reserve0/1, sqrt_price_x96, liquidity: uint256/int256 fit no Int64 or
-- Float64); `amount` is whole tokens when the token's decimals are known. `price` of a pool
-- swap stays NULL: without the pool's tokens there is none (the envelope says unknown_pool).
-- (chain, tx_hash, log_index) locates the log; message_id is derived from it, so a log seen
-- twice is one row after merges (ReplacingMergeTree, as the raw tables).

CREATE TABLE IF NOT EXISTS {db}.bridge_transfers
(
    message_id      String,
    event_time      DateTime64(3, 'UTC'),
    received_time   DateTime64(3, 'UTC'),
    source          LowCardinality(String),
    inserted_at     DateTime64(3, 'UTC') DEFAULT now64(3),
    chain           LowCardinality(String),
    l2              LowCardinality(String),
    direction       LowCardinality(String),
    stage           LowCardinality(String),
    l1_token        String,
    l2_token        Nullable(String),
    token           LowCardinality(Nullable(String)),
    amount          Nullable(Float64),
    amount_raw      String,
    from_address    String,
    to_address      String,
    bridge          LowCardinality(String),
    block_number    Int64,
    tx_hash         String,
    log_index       Int64,
    sequence_number Nullable(String)
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (l2, direction, event_time, message_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {db}.pool_swaps
(
    message_id     String,
    event_time     DateTime64(3, 'UTC'),
    received_time  DateTime64(3, 'UTC'),
    source         LowCardinality(String),
    inserted_at    DateTime64(3, 'UTC') DEFAULT now64(3),
    chain          LowCardinality(String),
    pool           String,
    event          LowCardinality(String),
    dex            LowCardinality(Nullable(String)),
    token0         Nullable(String),
    token1         Nullable(String),
    amount0        Nullable(String),
    amount1        Nullable(String),
    reserve0       Nullable(String),
    reserve1       Nullable(String),
    sqrt_price_x96 Nullable(String),
    liquidity      Nullable(String),
    tick           Nullable(Int64),
    sender         Nullable(String),
    recipient      Nullable(String),
    price          Nullable(Float64),
    block_number   Int64,
    tx_hash        String,
    log_index      Int64
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (chain, pool, event_time, message_id)
SETTINGS non_replicated_deduplication_window = 1000;
