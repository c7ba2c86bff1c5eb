"""Settings: LUCENT_* variables, .env, defaults from the design record, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from lucent_platform.config import Settings, SettingsError, load_settings


def test_producer_defaults_resolve_the_design_records_contradiction() -> None:
    conf = Settings(_env_file=None).producer_config("127.0.0.1:1")  # type: ignore[call-arg]
    # acks=1 + idempotence is refused by librdkafka: integrity wins (DESIGN.md decision 3).
    assert conf["acks"] == "all" and conf["enable.idempotence"] is True
    assert conf["linger.ms"] == 1 and conf["compression.type"] == "snappy"


def test_consumers_commit_manually() -> None:
    conf = Settings(_env_file=None).consumer_config("h:1", "g")  # type: ignore[call-arg]
    assert conf["enable.auto.commit"] is False
    assert conf["fetch.wait.max.ms"] == 10 and conf["group.id"] == "g"


def test_env_and_passthrough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "LUCENT_KAFKA_CONFIG", '{"security.protocol": "SASL_SSL", "sasl.mechanisms": "PLAIN"}'
    )
    monkeypatch.setenv("LUCENT_KAFKA_SASL_USERNAME", "svc")
    monkeypatch.setenv("LUCENT_KAFKA_SASL_PASSWORD", "hunter2")
    monkeypatch.setenv("LUCENT_PAIRS", "ETH-USDC, BTC-USDT")
    settings = load_settings(_env_file=None)
    conf = settings.producer_config("b:9092")
    assert conf["security.protocol"] == "SASL_SSL" and conf["sasl.password"] == "hunter2"
    assert settings.pairs == ["ETH-USDC", "BTC-USDT"]
    assert "hunter2" not in repr(settings) and "hunter2" not in settings.model_dump_json()


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("LUCENT_DAGSTER_PORT=3111\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings().dagster_port == 3111


def test_settings_are_frozen() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        settings.dagster_port = 1  # type: ignore[misc]


def test_production_replication_and_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUCENT_ENVIRONMENT", "production")
    settings = load_settings(_env_file=None)
    assert (settings.replication_factor, settings.min_insync_replicas) == (3, 2)
    monkeypatch.setenv("LUCENT_KAFKA_MIN_INSYNC_REPLICAS", "5")
    with pytest.raises(SettingsError, match="LUCENT_KAFKA_MIN_INSYNC_REPLICAS"):
        load_settings(_env_file=None)
    monkeypatch.setenv("LUCENT_DAGSTER_PORT", "http")
    with pytest.raises(SettingsError, match="LUCENT_DAGSTER_PORT"):
        load_settings(_env_file=None)


def test_processor_thresholds_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from lucent_platform.processing.config import processor_config

    monkeypatch.setenv(
        "LUCENT_PROCESSOR_CONFIG",
        '{"validation": {"price_bounds": {"BTC-USDT": [1000, 1e7]}, "max_spread_bps": 300},'
        ' "enrichment": {"spans": [20, 100]}, "dedup": {"ttl_ms": 60000}}',
    )
    config = processor_config(load_settings(_env_file=None).processor_config)
    assert config.validation.price_bounds == {"BTC-USDT": (1000.0, 1e7)}
    assert config.validation.max_spread_bps == 300.0
    assert config.enrichment.spans == (20, 100) and config.dedup.ttl_ms == 60_000
    assert config.validation.max_latency_ms == 30_000  # untouched fields keep their defaults


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ('{"validaton": {}}', "validaton"),
        ('{"validation": {"max_sprad_bps": 1}}', "max_sprad_bps"),
        ('{"validation": {"max_spread_bps": "wide"}}', "max_spread_bps"),
        ('{"enrichment": {"spans": [0]}}', "spans"),
    ],
)
def test_a_wrong_processor_setting_stops_startup_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str, names: str
) -> None:
    monkeypatch.setenv("LUCENT_PROCESSOR_CONFIG", value)
    with pytest.raises(SettingsError, match=f"LUCENT_PROCESSOR_CONFIG.*{names}"):
        load_settings(_env_file=None)
