-- AI agents' model predictions (issue 8): what agents published on NATS
-- agents.predictions.{model}.{pair}, recorded by `lucent worker agents` on the Kafka topic
-- agents.predictions and stored here by the sink, to be evaluated later against the prices
-- `horizon` bars after `features_time`. event_time is the features' time too (the envelope's
-- event time); published_at is the agent's own clock when it says so.
-- message_id is derived from model, version, pair, features time and horizon, so a prediction
-- published or recorded twice is one row after merges (ReplacingMergeTree, as the raw tables).

CREATE TABLE IF NOT EXISTS {db}.model_predictions
(
    message_id     String,
    event_time     DateTime64(3, 'UTC'),
    received_time  DateTime64(3, 'UTC'),
    source         LowCardinality(String),
    inserted_at    DateTime64(3, 'UTC') DEFAULT now64(3),
    model          LowCardinality(String),
    version        Nullable(String),
    pair           LowCardinality(String),
    interval       LowCardinality(Nullable(String)),
    horizon        Int64,
    features_time  DateTime64(3, 'UTC'),
    probability_up Nullable(Float64),
    value          Nullable(Float64),
    close          Nullable(Float64),
    published_at   Nullable(DateTime64(3, 'UTC'))
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (model, pair, features_time, message_id)
SETTINGS non_replicated_deduplication_window = 1000;
