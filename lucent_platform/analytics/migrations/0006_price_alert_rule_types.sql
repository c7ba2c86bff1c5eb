-- PriceAlert v2 (the alert engine, issue #6 item 3): which kind of rule fired (above, below,
-- move, spread), its level and the value that crossed it (in the rule's unit: price, percent,
-- bps), a move's period and the reference price/venue (the price it moved from; the best ask
-- of a spread). Nullable: v1 alerts carry none of them.

ALTER TABLE {db}.price_alerts ADD COLUMN IF NOT EXISTS rule_type LowCardinality(Nullable(String));
ALTER TABLE {db}.price_alerts ADD COLUMN IF NOT EXISTS level Nullable(Float64);
ALTER TABLE {db}.price_alerts ADD COLUMN IF NOT EXISTS value Nullable(Float64);
ALTER TABLE {db}.price_alerts ADD COLUMN IF NOT EXISTS window_ms Nullable(Int64);
ALTER TABLE {db}.price_alerts ADD COLUMN IF NOT EXISTS reference_price Nullable(Float64);
ALTER TABLE {db}.price_alerts ADD COLUMN IF NOT EXISTS reference_exchange LowCardinality(Nullable(String));
