-- OHLCV candles from trades: market_data (1 minute, the design record's table), and rollups
-- market_data_1h and market_data_1d fed from the 1-minute candles.
--
-- AggregatingMergeTree keeps partial states: each insert block of trades becomes one partial
-- candle per (exchange, pair, minute), merged in the background and finalized by queries
-- (lucent_platform.analytics.candles), so candles are right however trades are split into
-- blocks and in whatever order they arrive.
-- * open/close: argMin/argMax of the price by (event time, numeric trade id): trade time, not
--   insertion order; the trade id breaks ties within a millisecond where the venue gives one.
-- * high/low/total_volume/quote_volume/trade_count: SimpleAggregateFunction, so the design
--   record's `sum(total_volume)` query runs unchanged; volume is the sum of trade amounts
--   (base units), never a 24-hour figure from price updates; VWAP = quote_volume / total_volume.
-- * avg_price: the plain mean of trade prices, as the design record's view had.
-- The rollups are materialized views on the 1-minute table (MVs cascade: a block inserted into
-- market_data is re-aggregated into market_data_1h and market_data_1d), so a long-range query
-- reads 60 or 1440 times fewer rows, and the candle TTL can differ per table later.
-- Every target has non_replicated_deduplication_window: a trade block the server deduplicates
-- is not counted again in any candle (a view's insert carries a token derived from its source's).

CREATE TABLE IF NOT EXISTS {db}.market_data
(
    minute       DateTime('UTC'),
    exchange     LowCardinality(String),
    pair         LowCardinality(String),
    open         AggregateFunction(argMin, Float64, Tuple(DateTime64(3, 'UTC'), UInt64)),
    high         SimpleAggregateFunction(max, Float64),
    low          SimpleAggregateFunction(min, Float64),
    close        AggregateFunction(argMax, Float64, Tuple(DateTime64(3, 'UTC'), UInt64)),
    total_volume SimpleAggregateFunction(sum, Float64),
    quote_volume SimpleAggregateFunction(sum, Float64),
    trade_count  SimpleAggregateFunction(sum, UInt64),
    avg_price    AggregateFunction(avg, Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (exchange, pair, minute)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.market_data_mv TO {db}.market_data AS
SELECT
    toStartOfMinute(toDateTime(event_time, 'UTC')) AS minute,
    exchange,
    pair,
    argMinState(price, (event_time, toUInt64OrZero(trade_id))) AS open,
    max(price) AS high,
    min(price) AS low,
    argMaxState(price, (event_time, toUInt64OrZero(trade_id))) AS close,
    sum(amount) AS total_volume,
    sum(price * amount) AS quote_volume,
    toUInt64(count()) AS trade_count,
    avgState(price) AS avg_price
FROM {db}.trades
GROUP BY exchange, pair, minute;

CREATE TABLE IF NOT EXISTS {db}.market_data_1h
(
    hour         DateTime('UTC'),
    exchange     LowCardinality(String),
    pair         LowCardinality(String),
    open         AggregateFunction(argMin, Float64, Tuple(DateTime64(3, 'UTC'), UInt64)),
    high         SimpleAggregateFunction(max, Float64),
    low          SimpleAggregateFunction(min, Float64),
    close        AggregateFunction(argMax, Float64, Tuple(DateTime64(3, 'UTC'), UInt64)),
    total_volume SimpleAggregateFunction(sum, Float64),
    quote_volume SimpleAggregateFunction(sum, Float64),
    trade_count  SimpleAggregateFunction(sum, UInt64),
    avg_price    AggregateFunction(avg, Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (exchange, pair, hour)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.market_data_1h_mv TO {db}.market_data_1h AS
SELECT
    toStartOfHour(minute) AS hour,
    exchange,
    pair,
    argMinMergeState(open) AS open,
    max(high) AS high,
    min(low) AS low,
    argMaxMergeState(close) AS close,
    sum(total_volume) AS total_volume,
    sum(quote_volume) AS quote_volume,
    sum(trade_count) AS trade_count,
    avgMergeState(avg_price) AS avg_price
FROM {db}.market_data
GROUP BY exchange, pair, hour;

CREATE TABLE IF NOT EXISTS {db}.market_data_1d
(
    day          Date,
    exchange     LowCardinality(String),
    pair         LowCardinality(String),
    open         AggregateFunction(argMin, Float64, Tuple(DateTime64(3, 'UTC'), UInt64)),
    high         SimpleAggregateFunction(max, Float64),
    low          SimpleAggregateFunction(min, Float64),
    close        AggregateFunction(argMax, Float64, Tuple(DateTime64(3, 'UTC'), UInt64)),
    total_volume SimpleAggregateFunction(sum, Float64),
    quote_volume SimpleAggregateFunction(sum, Float64),
    trade_count  SimpleAggregateFunction(sum, UInt64),
    avg_price    AggregateFunction(avg, Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYear(day)
ORDER BY (exchange, pair, day)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.market_data_1d_mv TO {db}.market_data_1d AS
SELECT
    toDate(minute) AS day,
    exchange,
    pair,
    argMinMergeState(open) AS open,
    max(high) AS high,
    min(low) AS low,
    argMaxMergeState(close) AS close,
    sum(total_volume) AS total_volume,
    sum(quote_volume) AS quote_volume,
    sum(trade_count) AS trade_count,
    avgMergeState(avg_price) AS avg_price
FROM {db}.market_data
GROUP BY exchange, pair, day;
