-- Quote candles beside the trade candles: 1-minute OHLC of each venue's mid price
-- ((bid + ask) / 2, or the price where a venue quotes no book), from `prices`. For pairs and
-- venues without a trade feed, and for comparing where quotes and trades moved. Same design
-- as market_data: AggregatingMergeTree states, open/close by event time, insert dedup window.

CREATE TABLE IF NOT EXISTS {db}.quote_candles
(
    minute   DateTime('UTC'),
    exchange LowCardinality(String),
    pair     LowCardinality(String),
    open     AggregateFunction(argMin, Float64, DateTime64(3, 'UTC')),
    high     SimpleAggregateFunction(max, Float64),
    low      SimpleAggregateFunction(min, Float64),
    close    AggregateFunction(argMax, Float64, DateTime64(3, 'UTC')),
    updates  SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (exchange, pair, minute)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.quote_candles_mv TO {db}.quote_candles AS
SELECT
    toStartOfMinute(toDateTime(event_time, 'UTC')) AS minute,
    exchange,
    pair,
    argMinState(ifNull((bid + ask) / 2, price), event_time) AS open,
    max(ifNull((bid + ask) / 2, price)) AS high,
    min(ifNull((bid + ask) / 2, price)) AS low,
    argMaxState(ifNull((bid + ask) / 2, price), event_time) AS close,
    toUInt64(count()) AS updates
FROM {db}.prices
GROUP BY exchange, pair, minute;
