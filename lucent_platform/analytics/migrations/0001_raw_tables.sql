-- Raw tables: one row per message of the normalized, dead-letter and signal topics.
--
-- Idempotent by design (DESIGN.md decision 6). The sink is at-least-once, so a message may be
-- inserted twice: ReplacingMergeTree keeps one row per sorting key, and every sorting key ends
-- in message_id after what identifies the row, so two copies of a message collapse in merges
-- (the later insert, by inserted_at, wins). Until a merge happens, queries dedupe with FINAL
-- (or LIMIT 1 BY message_id). non_replicated_deduplication_window makes the server also drop a
-- re-sent insert block outright (same insert_deduplication_token, or the same bytes): no
-- duplicate rows at all, and none pushed into the materialized views (0002).
--
-- Partitions are months of event time (a backfill batch never spans many); retention is
-- LUCENT_CLICKHOUSE_TTL_DAYS, applied by `migrate` as a TTL outside the migrations.
-- {db} is the database (LUCENT_CLICKHOUSE_DATABASE); statements end with ';' at a line end.

CREATE TABLE IF NOT EXISTS {db}.prices
(
    message_id              String,
    event_time              DateTime64(3, 'UTC'),
    received_time           DateTime64(3, 'UTC'),
    source                  LowCardinality(String),
    inserted_at             DateTime64(3, 'UTC') DEFAULT now64(3),
    exchange                LowCardinality(String),
    pair                    LowCardinality(String),
    price                   Float64,
    bid                     Nullable(Float64),
    ask                     Nullable(Float64),
    spread                  Nullable(Float64),
    volume24h               Nullable(Float64),
    change24h               Nullable(Float64),
    bid_size                Nullable(Float64),
    ask_size                Nullable(Float64),
    ma_spans                Array(UInt32),
    sma                     Array(Float64),
    ema                     Array(Float64),
    volatility              Nullable(Float64),
    cross_best_bid_exchange LowCardinality(Nullable(String)),
    cross_best_bid          Nullable(Float64),
    cross_best_ask_exchange LowCardinality(Nullable(String)),
    cross_best_ask          Nullable(Float64),
    buy_here_bps            Nullable(Float64),
    sell_here_bps           Nullable(Float64),
    depth_band_bps          Nullable(Float64),
    depth_bid_size          Nullable(Float64),
    depth_ask_size          Nullable(Float64)
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (exchange, pair, event_time, message_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {db}.trades
(
    message_id    String,
    event_time    DateTime64(3, 'UTC'),
    received_time DateTime64(3, 'UTC'),
    source        LowCardinality(String),
    inserted_at   DateTime64(3, 'UTC') DEFAULT now64(3),
    exchange      LowCardinality(String),
    pair          LowCardinality(String),
    price         Float64,
    amount        Float64,
    trade_id      String,
    side          LowCardinality(Nullable(String))
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (exchange, pair, event_time, message_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {db}.orderbook_top
(
    message_id    String,
    event_time    DateTime64(3, 'UTC'),
    received_time DateTime64(3, 'UTC'),
    source        LowCardinality(String),
    inserted_at   DateTime64(3, 'UTC') DEFAULT now64(3),
    exchange      LowCardinality(String),
    pair          LowCardinality(String),
    sequence      Nullable(Int64),
    bid_prices    Array(Float64),
    bid_sizes     Array(Float64),
    ask_prices    Array(Float64),
    ask_sizes     Array(Float64)
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (exchange, pair, event_time, message_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {db}.yields
(
    message_id    String,
    event_time    DateTime64(3, 'UTC'),
    received_time DateTime64(3, 'UTC'),
    source        LowCardinality(String),
    inserted_at   DateTime64(3, 'UTC') DEFAULT now64(3),
    protocol      LowCardinality(String),
    pool          LowCardinality(String),
    asset         LowCardinality(String),
    chain         LowCardinality(String),
    apy           Float64,
    tvl_usd       Nullable(Float64),
    supply_apy    Nullable(Float64),
    borrow_apy    Nullable(Float64)
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (protocol, pool, event_time, message_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {db}.liquidations
(
    message_id        String,
    event_time        DateTime64(3, 'UTC'),
    received_time     DateTime64(3, 'UTC'),
    source            LowCardinality(String),
    inserted_at       DateTime64(3, 'UTC') DEFAULT now64(3),
    protocol          LowCardinality(String),
    chain             LowCardinality(String),
    tx_hash           String,
    log_index         Nullable(Int64),
    block_number      Nullable(Int64),
    borrower          String,
    liquidator        String,
    collateral_asset  LowCardinality(String),
    debt_asset        LowCardinality(String),
    collateral_amount Float64,
    debt_amount       Float64,
    value_usd         Nullable(Float64)
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (protocol, event_time, message_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {db}.governance
(
    message_id    String,
    event_time    DateTime64(3, 'UTC'),
    received_time DateTime64(3, 'UTC'),
    source        LowCardinality(String),
    inserted_at   DateTime64(3, 'UTC') DEFAULT now64(3),
    protocol      LowCardinality(String),
    proposal_id   String,
    event_type    LowCardinality(String),
    title         Nullable(String),
    chain         LowCardinality(Nullable(String)),
    proposer      Nullable(String),
    voter         Nullable(String),
    support       LowCardinality(Nullable(String)),
    votes         Nullable(Float64),
    tx_hash       Nullable(String),
    block_number  Nullable(Int64)
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (protocol, proposal_id, event_time, message_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {db}.dead_letters
(
    message_id          String,
    event_time          DateTime64(3, 'UTC'),
    received_time       DateTime64(3, 'UTC'),
    source              LowCardinality(String),
    inserted_at         DateTime64(3, 'UTC') DEFAULT now64(3),
    reason              LowCardinality(String),
    detail              String,
    source_topic        LowCardinality(String),
    source_partition    Int32,
    source_offset       Int64,
    original_message_id Nullable(String),
    message_type        LowCardinality(Nullable(String))
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (source_topic, event_time, message_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {db}.yield_opportunities
(
    message_id    String,
    event_time    DateTime64(3, 'UTC'),
    received_time DateTime64(3, 'UTC'),
    source        LowCardinality(String),
    inserted_at   DateTime64(3, 'UTC') DEFAULT now64(3),
    protocol      LowCardinality(String),
    pool          LowCardinality(String),
    asset         LowCardinality(String),
    chain         LowCardinality(String),
    window_start  DateTime64(3, 'UTC'),
    window_end    DateTime64(3, 'UTC'),
    max_apy       Float64,
    avg_apy       Float64,
    samples       Int64,
    tvl_usd       Nullable(Float64)
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (protocol, pool, window_start, message_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {db}.price_alerts
(
    message_id    String,
    event_time    DateTime64(3, 'UTC'),
    received_time DateTime64(3, 'UTC'),
    source        LowCardinality(String),
    inserted_at   DateTime64(3, 'UTC') DEFAULT now64(3),
    rule_id       String,
    user_id       String,
    pair          LowCardinality(String),
    exchange      LowCardinality(String),
    target_price  Float64,
    direction     LowCardinality(String),
    price         Float64
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (user_id, event_time, message_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {db}.arbitrage_opportunities
(
    message_id       String,
    event_time       DateTime64(3, 'UTC'),
    received_time    DateTime64(3, 'UTC'),
    source           LowCardinality(String),
    inserted_at      DateTime64(3, 'UTC') DEFAULT now64(3),
    pair             LowCardinality(String),
    buy_exchange     LowCardinality(String),
    sell_exchange    LowCardinality(String),
    buy_price        Float64,
    sell_price       Float64,
    spread_bps       Float64,
    fees_bps         Float64,
    net_profit_bps   Float64,
    window_start     DateTime64(3, 'UTC'),
    window_end       DateTime64(3, 'UTC'),
    size             Nullable(Float64),
    estimated_profit Nullable(Float64)
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (pair, event_time, message_id)
SETTINGS non_replicated_deduplication_window = 1000;
