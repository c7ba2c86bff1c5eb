-- ArbitrageOpportunity v2 (the arbitrage detector, issue #6): the size resting at each leg's
-- quote and the detection latency (the triggering quote's receipt by its feed → detection,
-- ms). Rows stored before stay NULL there, as v1 messages decode.

ALTER TABLE {db}.arbitrage_opportunities
    ADD COLUMN IF NOT EXISTS buy_size Nullable(Float64),
    ADD COLUMN IF NOT EXISTS sell_size Nullable(Float64),
    ADD COLUMN IF NOT EXISTS detection_latency_ms Nullable(Float64);
