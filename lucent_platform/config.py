"""Platform settings: read once from ``LUCENT_*`` variables (and ``.env``) into frozen objects.

Every service has an *embedded* default that ``lucent up`` starts on loopback, and an
*external* form that replaces it when its address is set (``LUCENT_KAFKA_BOOTSTRAP_SERVERS``,
``LUCENT_NATS_URL``, ``LUCENT_CLICKHOUSE_URL``, ``LUCENT_EVENTSTORE_URI``).

librdkafka passthrough is one JSON object for every client (plus one per role); security has
its own settings (``LUCENT_KAFKA_SECURITY_PROTOCOL``, ``_SASL_*``, ``_SSL_*``), applied in
``kafka_common``, the one place every librdkafka config is built. Secrets are ``SecretStr``
(masked in repr and dumps), read from their variable or from a file named by the same variable
with ``_FILE`` appended (``security.py``); URLs in repr and JSON dumps lose their credentials.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    PlainSerializer,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from lucent_platform import security
from lucent_platform.redaction import redact_urls
from lucent_platform.topics import segment

# A service URL that may carry ``user:password@``: redacted in JSON dumps and in repr.
_Url = Annotated[str, PlainSerializer(redact_urls, when_used="json")]

# DESIGN.md decision 3: the design record asks for acks=1 *and* idempotence; librdkafka
# refuses that pair, and data integrity wins. max.in.flight stays at librdkafka's idempotent
# maximum (5), which still preserves ordering per partition with idempotence on.
# batch.size: the record's 16384 (the Java client's default) caps a batch at ~30 envelopes, so
# a busy worker sends a produce request per 30 outputs; librdkafka's 1 MB default tripled a
# worker's msg/s (`lucent bench processor`, 2026-11-28). linger.ms=1 still bounds the wait.
PRODUCER_DEFAULTS: dict[str, Any] = {
    "acks": "all",
    "enable.idempotence": True,
    "retries": 3,
    "batch.size": 1_000_000,
    "linger.ms": 1,
    "compression.type": "snappy",
    "max.in.flight.requests.per.connection": 5,
}

# The design record's consumer block; offsets are committed by the worker after its output
# is flushed (never auto-committed).
CONSUMER_DEFAULTS: dict[str, Any] = {
    "fetch.min.bytes": 1,
    "fetch.wait.max.ms": 10,
    "max.partition.fetch.bytes": 1048576,
    "auto.offset.reset": "latest",
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
}

# Each stage's JSON setting → the builder (``module:function``) that turns it into the stage's
# config, imported only to check the value (the stages are not needed to read settings).
_STAGE_CONFIGS = {
    "processor_config": "lucent_platform.processing.config:processor_config",
    "yield_config": "lucent_platform.signals.apps.yields:yield_config",
    "arbitrage_config": "lucent_platform.signals.apps.arbitrage:arbitrage_config",
    "patterns_config": "lucent_platform.signals.apps.patterns:patterns_config",
    "alerts_config": "lucent_platform.signals.apps.alerts:alerts_config",
    "monitor_config": "lucent_platform.monitoring.config:monitor_config",
    "dataset_config": "lucent_platform.datasets.config:dataset_config",
    "quality_config": "lucent_platform.quality.config:quality_config",
    "domain_config": "lucent_platform.domain.config:domain_config",
    "chains": "lucent_platform.chains.config:chains_config",
}

_MODEL = SettingsConfigDict(
    env_prefix="LUCENT_",
    env_file=".env",
    env_file_encoding="utf-8",
    extra="ignore",
    frozen=True,
)


class Settings(BaseSettings):
    """Everything the platform can be told, with the embedded local stack as default."""

    model_config = _MODEL

    data_dir: Path = Field(
        default=Path(".lucent"), description="Where every embedded service keeps its data."
    )
    environment: str = Field(default="local", description="'local' or 'production'.")
    log_level: str = Field(default="INFO", description="Python log level for every process.")

    # --- Market feeds ------------------------------------------------------------------
    exchanges: Annotated[list[str], NoDecode] = Field(
        default=["binance", "coinbase", "kraken"],
        description="Exchanges to ingest, comma-separated.",
    )
    pairs: Annotated[list[str], NoDecode] = Field(
        default=["BTC-USDT", "ETH-USDT", "ETH-USDC"],
        description="Pairs to ingest on every exchange, comma-separated (BASE-QUOTE).",
    )

    feed: str = Field(
        default="simulate",
        description="What `lucent up` ingests: simulate, replay:PATH, or live.",
    )
    simulator_seed: int = Field(default=7, description="Seed of the market simulator.")
    simulator_rate: float = Field(
        default=1.0,
        gt=0,
        allow_inf_nan=False,
        description="Simulator message-rate multiplier (1 ≈ 100 msg/s).",
    )
    replay_speed: float = Field(
        default=1.0,
        ge=0,
        allow_inf_nan=False,
        description="Replay speed: 1 = as recorded, 10 = ten times faster, 0 = max.",
    )
    exchange_urls: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description='Live URL overrides per exchange, JSON: {"binance": {"ws": …, "rest": …}}.',
    )
    feed_stale_seconds: float = Field(
        default=30.0, description="A live stream silent this long is reconnected."
    )
    chains: dict[str, Any] = Field(
        default_factory=dict,
        description="The chain feed: chain name → its node and options, as JSON: "
        '{"ethereum": {"rpc_url": "http://127.0.0.1:8545", "confirmations": 12, '
        '"sources": ["dex", "oracles"]}} (empty: no chain feed; fields: '
        "lucent_platform/chains/config.py).",
    )

    instance_id: str = Field(
        default="0",
        description="This worker instance's stable id (distinct per instance; exactly-once "
        "workers fence by it, so a restarted instance must keep its id).",
    )
    processor_exactly_once: bool = Field(
        default=False,
        description="Processor with transactions (exactly-once) instead of at-least-once.",
    )
    processor_config: dict[str, Any] = Field(
        default_factory=dict,
        description="The processor's validation, de-duplication and enrichment settings, as "
        'JSON: {"validation": {"price_bounds": {"BTC-USDT": [1000, 1e7]}}, ...}.',
    )
    yield_config: dict[str, Any] = Field(
        default_factory=dict,
        description="The yield detector's thresholds and windows, as JSON: "
        '{"min_apy": 5.0, "min_tvl_usd": 1e6, "max_apy_stdev": 1.5, "min_samples": 3, '
        '"window_ms": 300000, ...}.',
    )
    arbitrage_config: dict[str, Any] = Field(
        default_factory=dict,
        description="The arbitrage detector's taker fees per exchange and thresholds, as JSON: "
        '{"taker_fees_bps": {"binance": 10, "coinbase": 40, "kraken": 26}, '
        '"min_net_profit_bps": 5, "min_notional": 100, "improvement_bps": 10, ...}.',
    )
    patterns_config: dict[str, Any] = Field(
        default_factory=dict,
        description="The liquidation-cascade pattern's thresholds and windows, as JSON: "
        '{"min_liquidations": 3, "min_drop_pct": 5.0, "window_ms": 60000, ...}.',
    )

    alerts_config: dict[str, Any] = Field(
        default_factory=dict,
        description="The price alert engine's settings, as JSON: "
        '{"stale_ms": 30000} (a venue\'s quote older than that no longer counts for rules '
        "without an exchange).",
    )
    monitor_config: dict[str, Any] = Field(
        default_factory=dict,
        description="The stream monitor's thresholds (`lucent worker monitor`), as JSON: "
        '{"failure_rate_open": 0.2, "stale_factor": 10, "expected_interval_ms": {"kraken": '
        '1000}, "sources": ["binance"], "deviation_open_bps": 100} (see README, Data-quality '
        "monitoring).",
    )
    quality_config: dict[str, Any] = Field(
        default_factory=dict,
        description="The data-quality checks' windows, bounds and severities, as JSON: "
        '{"window_minutes": 60, "max_age_s": {"prices": 120, "trades": 300, "yields": 1800}, '
        '"max_deviation_bps": 100, "max_failure_rate": 0.05, "history_days": 2, '
        '"severity": {"venues_agree": "ERROR"}, ...}.',
    )

    domain_config: dict[str, Any] = Field(
        default_factory=dict,
        description="The domain handlers' portfolio: capital, sizing caps, targets, as JSON: "
        '{"portfolio": "main", "owner": "u-42", "capital_usd": 100000, "risk_budget": 0.5, '
        '"max_share_per_venue": 0.2, "kelly_fraction": 0.25, "drift_threshold": 0.05, '
        '"target_weights": {"BTC": 0.4, "ETH": 0.4, "USDT": 0.2}, ...}.',
    )

    # --- Training datasets, baseline model, archival --------------------------------------
    dataset_config: dict[str, Any] = Field(
        default_factory=dict,
        description="Training datasets' defaults, as JSON: "
        '{"pairs": ["BTC-USDT"], "interval": "1m", "horizons": [1, 5, 15], "spans": [5, 20], '
        '"volatility_window": 20, "warmup_bars": 200, "test_fraction": 0.15, ...} '
        "(empty pairs: LUCENT_PAIRS).",
    )
    predictions_model: str = Field(
        default="baseline",
        description="The model `lucent worker predictions` loads (its newest file under "
        "DATA_DIR/models/NAME/) and names on agents.predictions.NAME.PAIR.",
    )
    agents_stale_ms: int = Field(
        default=30_000,
        ge=0,
        description="Agents' queries: a venue's quote this far (ms of event time) behind the "
        "pair's newest is marked stale and left out of the best bid/ask.",
    )
    agents_warmup_s: int = Field(
        default=300,
        ge=0,
        description="`lucent worker agents` starts reading market.prices.all this many seconds "
        "back, so it answers for every venue that quoted lately.",
    )
    archive_after_days: int = Field(
        default=7,
        ge=1,
        description="Archival: a day of raw rows is archived to Parquet once it is this many "
        "days old (and before LUCENT_CLICKHOUSE_TTL_DAYS drops it).",
    )

    # --- Kafka ---------------------------------------------------------------------------
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        description="External Kafka cluster; unset = start the embedded Tansu broker.",
    )
    kafka_port: int = Field(default=0, description="Embedded broker port (0 = any free port).")
    kafka_config: dict[str, Any] = Field(
        default_factory=dict,
        description="librdkafka passthrough for every client, as JSON (security: the "
        "LUCENT_KAFKA_SECURITY_PROTOCOL/_SASL_*/_SSL_* settings; no secrets here).",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="librdkafka security.protocol of every client."
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        default=None, description="SASL mechanism (needs a SASL_* protocol, user, password)."
    )
    kafka_sasl_username: str | None = Field(default=None, description="SASL username.")
    kafka_sasl_password: SecretStr | None = Field(default=None, description="SASL password.")
    kafka_sasl_password_file: Path | None = Field(
        default=None, description="File holding the SASL password (instead of the variable)."
    )
    kafka_ssl_ca_location: Path | None = Field(
        default=None, description="CA certificate (PEM) the brokers' certificates are checked with."
    )
    kafka_ssl_certificate_location: Path | None = Field(
        default=None, description="Client certificate (PEM) for mutual TLS."
    )
    kafka_ssl_key_location: Path | None = Field(
        default=None, description="Client private key (PEM) for mutual TLS."
    )
    kafka_ssl_key_password: SecretStr | None = Field(
        default=None, description="Password of the client private key."
    )
    kafka_ssl_key_password_file: Path | None = Field(
        default=None, description="File holding the client key's password."
    )
    kafka_producer_config: dict[str, Any] = Field(
        default_factory=dict, description="Overrides of the producer defaults, as JSON."
    )
    kafka_consumer_config: dict[str, Any] = Field(
        default_factory=dict, description="Overrides of the consumer defaults, as JSON."
    )
    kafka_replication_factor: int | None = Field(
        default=None, description="Topic replication factor (default 1 local, 3 production)."
    )
    kafka_min_insync_replicas: int | None = Field(
        default=None, description="min.insync.replicas (default 1 local, 2 production)."
    )
    kafka_session_timeout_ms: int = Field(
        default=6000,
        description="Consumer group session timeout; the local broker makes joins wait half.",
    )

    # --- NATS ----------------------------------------------------------------------------
    nats_url: _Url | None = Field(
        default=None, description="External NATS server; unset = start embedded nats-server."
    )
    nats_port: int = Field(default=0, description="Embedded NATS port (0 = any free port).")
    nats_user: str | None = Field(default=None, description="NATS user.")
    nats_password: SecretStr | None = Field(default=None, description="NATS password.")
    nats_password_file: Path | None = Field(
        default=None, description="File holding the NATS password."
    )
    nats_token: SecretStr | None = Field(default=None, description="NATS auth token.")
    nats_token_file: Path | None = Field(default=None, description="File holding the token.")
    nats_creds_file: Path | None = Field(default=None, description="NATS .creds file.")
    nats_tls_ca: Path | None = Field(
        default=None, description="CA certificate (PEM) for a tls:// NATS server."
    )
    nats_replicas: int = Field(
        default=1,
        ge=1,
        le=5,
        description="Replicas of every JetStream stream (1 for one server; 3 on a cluster).",
    )

    # --- Schema Registry -----------------------------------------------------------------
    schema_registry_url: _Url | None = Field(
        default=None,
        description="Confluent-compatible Schema Registry; unset = schemas are only checked "
        "(backward compatibility), not registered.",
    )
    schema_registry_username: str | None = Field(
        default=None, description="Schema Registry basic-auth user (API key)."
    )
    schema_registry_password: SecretStr | None = Field(
        default=None, description="Schema Registry basic-auth password (API secret)."
    )
    schema_registry_password_file: Path | None = Field(
        default=None, description="File holding the Schema Registry password."
    )

    # --- ClickHouse ----------------------------------------------------------------------
    clickhouse_url: _Url | None = Field(
        default=None,
        description="External ClickHouse HTTP(S) URL; unset = start the embedded server.",
    )
    clickhouse_port: int = Field(default=0, description="Embedded ClickHouse HTTP port.")
    clickhouse_data_dir: Path | None = Field(
        default=None, description="Embedded chDB data dir (default DATA_DIR/clickhouse)."
    )
    clickhouse_user: str = Field(default="default", description="ClickHouse user.")
    clickhouse_password: SecretStr = Field(
        default=SecretStr(""), description="ClickHouse password."
    )
    clickhouse_password_file: Path | None = Field(
        default=None, description="File holding the ClickHouse password."
    )
    clickhouse_ca_cert: Path | None = Field(
        default=None, description="CA certificate (PEM) an https:// ClickHouse is checked with."
    )
    clickhouse_database: str = Field(
        default="lucent",
        # an identifier, not text: it is written into DDL and queries (quoted, but a backtick
        # or a 10 kB name should stop startup, not reach ClickHouse)
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$",
        description="Database of the analytics tables (created by migrate).",
    )
    clickhouse_ttl_days: int = Field(
        default=30, ge=0, description="Days raw rows (ticks, trades, books…) are kept; 0 = forever."
    )
    clickhouse_candle_ttl_days: int = Field(
        default=0, ge=0, description="Days OHLCV candles are kept; 0 = forever."
    )
    clickhouse_ingest: Literal["sink", "kafka-engine"] = Field(
        default="sink",
        description="Who fills the raw tables: the sink worker, or a real server's Kafka engine.",
    )
    sink_batch_rows: int = Field(
        default=5000, ge=1, description="Sink: records per input partition that cut a batch."
    )
    sink_batch_ms: int = Field(
        default=1000, ge=1, description="Sink: ms after a batch's first record that cut it."
    )
    sink_max_buffered: int = Field(
        default=100_000, ge=1, description="Sink: records held in memory before it flushes/pauses."
    )
    sink_retry_max_ms: int = Field(
        default=30_000, ge=1, description="Sink: longest back-off between two insert attempts."
    )
    sink_crash_after_inserts: int = Field(
        default=0,
        ge=0,
        description="Test only: the sink kills itself (SIGKILL) right after "
        "this many batch inserts, before committing them; 0 = never.",
    )
    # --- Event store ---------------------------------------------------------------------
    eventstore_uri: _Url | None = Field(
        default=None,
        description="EventStoreDB/KurrentDB URI (esdb://user:password@…; its credentials are "
        "never shown); unset = embedded SQLite store.",
    )
    eventstore_uri_file: Path | None = Field(
        default=None, description="File holding the EventStoreDB URI."
    )
    eventstore_path: Path | None = Field(
        default=None, description="Embedded event store file (default DATA_DIR/events.sqlite)."
    )

    # --- Dagster -------------------------------------------------------------------------
    dagster_host: str = Field(default="127.0.0.1", description="Dagster UI bind address.")
    dagster_port: int = Field(default=3000, description="Dagster UI port.")

    # --- Metrics -------------------------------------------------------------------------
    metrics_host: str = Field(
        default="127.0.0.1",
        description="Address the workers' Prometheus metrics endpoints listen on (loopback "
        "by default; 0.0.0.0 lets a Prometheus on another machine scrape them).",
    )
    metrics_port: int = Field(
        default=0,
        description="A worker's Prometheus metrics port. `lucent worker NAME`: serve on it, "
        "0 = no endpoint. `lucent up`: the first worker's port, the next ones count up from "
        "it; 0 = a free loopback port each.",
    )

    # --- Supervision (`lucent up`) ----------------------------------------------------------
    restart_first_delay_s: float = Field(
        default=1.0, gt=0, description="Back-off before restarting a crashed worker the first "
        "time; it doubles with each crash within LUCENT_RESTART_WINDOW_S.",
    )  # fmt: skip
    restart_max_delay_s: float = Field(
        default=60.0, gt=0, description="The longest back-off before restarting a crashed worker."
    )
    restart_max_crashes: int = Field(
        default=5, ge=0, description="A worker that crashes this many times within "
        "LUCENT_RESTART_WINDOW_S is left crashed (0: never restart).",
    )  # fmt: skip
    restart_window_s: float = Field(
        default=300.0, gt=0, description="The window, in seconds, in which crashes are counted."
    )

    @model_validator(mode="before")
    @classmethod
    def _secret_files(cls, data: Any) -> Any:
        """``X_FILE`` → ``X`` for every secret (the file must exist; not both set)."""
        return security.read_secret_files(data) if isinstance(data, dict) else data

    @model_validator(mode="after")
    def _security_fits(self) -> Settings:
        security.check_kafka(self)
        security.check_nats(self)
        security.check_files(self)
        return self

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, redact_urls(value) if isinstance(value, str) else value

    @field_validator("exchanges", "pairs", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("exchanges", "pairs")
    @classmethod
    def _topic_segments(cls, value: list[str]) -> list[str]:
        # each becomes part of a topic name: refused here, naming the variable, rather than
        # by the catalog when `lucent up` or a feed first builds the topic
        for name in value:
            segment(name)  # TopicNameError is a ValueError: pydantic reports it
        return value

    @field_validator(*_STAGE_CONFIGS)
    @classmethod
    def _stage_config(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        """Build the stage's config from the JSON now, so a wrong name or type stops startup
        (the builder's ValueError names the section and field)."""
        module, _, builder = _STAGE_CONFIGS[str(info.field_name)].partition(":")
        getattr(importlib.import_module(module), builder)(value)
        return value

    @field_validator("feed")
    @classmethod
    def _known_feed(cls, value: str) -> str:
        if value in {"simulate", "live"} or (value.startswith("replay:") and len(value) > 7):
            return value
        raise ValueError("must be 'simulate', 'live' or 'replay:PATH'")

    @field_validator("environment")
    @classmethod
    def _known_environment(cls, value: str) -> str:
        if value not in {"local", "production"}:
            raise ValueError("must be 'local' or 'production'")
        return value

    @field_validator("kafka_port", "nats_port", "clickhouse_port", "dagster_port", "metrics_port")
    @classmethod
    def _valid_port(cls, value: int) -> int:
        if not 0 <= value <= 65535:
            raise ValueError("must be a TCP port between 0 and 65535")
        return value

    @model_validator(mode="after")
    def _replication_fits(self) -> Settings:
        rf, isr = self.replication_factor, self.min_insync_replicas
        if isr > rf:
            raise ValueError(
                f"LUCENT_KAFKA_MIN_INSYNC_REPLICAS ({isr}) exceeds the replication factor ({rf})"
            )
        return self

    # --- derived values ------------------------------------------------------------------
    @property
    def replication_factor(self) -> int:
        if self.kafka_replication_factor is not None:
            return self.kafka_replication_factor
        return 3 if self.environment == "production" else 1

    @property
    def min_insync_replicas(self) -> int:
        if self.kafka_min_insync_replicas is not None:
            return self.kafka_min_insync_replicas
        return 2 if self.environment == "production" else 1

    @property
    def resolved_clickhouse_data_dir(self) -> Path:
        return self.clickhouse_data_dir or self.data_dir / "clickhouse"

    @property
    def resolved_eventstore_path(self) -> Path:
        return self.eventstore_path or self.data_dir / "events.sqlite"

    def kafka_common(self, bootstrap_servers: str) -> dict[str, Any]:
        """librdkafka settings shared by every client: address, passthrough, security (the
        one place they are applied; every producer, consumer and admin client starts here)."""
        return {
            "bootstrap.servers": bootstrap_servers,
            **self.kafka_config,
            **security.kafka_security(self),
        }

    def producer_config(self, bootstrap_servers: str) -> dict[str, Any]:
        return {
            **self.kafka_common(bootstrap_servers),
            **PRODUCER_DEFAULTS,
            **self.kafka_producer_config,
        }

    def consumer_config(self, bootstrap_servers: str, group_id: str) -> dict[str, Any]:
        return {
            **self.kafka_common(bootstrap_servers),
            **CONSUMER_DEFAULTS,
            "session.timeout.ms": self.kafka_session_timeout_ms,
            "group.id": group_id,
            **self.kafka_consumer_config,
        }


def load_settings(**overrides: Any) -> Settings:
    """Read the settings once; a wrong value raises ``SettingsError`` naming the variable."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError.from_validation(exc) from None


class SettingsError(ValueError):
    """A setting is wrong; the message names the ``LUCENT_*`` variable and what to fix."""

    @classmethod
    def from_validation(cls, exc: Any) -> SettingsError:
        lines = []
        for err in exc.errors():
            loc = "_".join(str(part) for part in err["loc"] if part != "__root__")
            var = f"LUCENT_{loc.upper()}" if loc else "settings"
            # a model-level error's input is every setting: never echoed
            secret = not loc or any(word in loc for word in security.SECRET_WORDS)
            got = "" if secret else f" (got {redact_urls(repr(err.get('input')))})"
            msg = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"{msg}" if not loc else f"{var}: {msg}{got}")
        return cls("invalid setting — " + "; ".join(lines))


def with_overrides(settings: Settings, **changes: Any) -> Settings:
    """A validated copy of ``settings`` with some values replaced (e.g. from CLI options)."""
    from pydantic import ValidationError

    updates = {k: v for k, v in changes.items() if v is not None}
    if not updates:
        return settings
    try:
        return type(settings)(**{**settings.model_dump(), **updates})
    except ValidationError as exc:
        raise SettingsError.from_validation(exc) from None
