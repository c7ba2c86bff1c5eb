"""deploy/ stays true: the files parse, the dashboard queries metrics the workers export, and
the production profile has the replication the design record asks for. Nothing is started:
the profile needs Docker and real hosts (deploy/README.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def _exported() -> set[str]:
    from streaming.metrics_server import registry_for

    return {family.name for family in registry_for("test").collect()}


def _queried(exprs: list[str]) -> set[str]:
    """The lucent_ metric families the PromQL expressions read (suffixes stripped)."""
    return {re.sub(r"_(total|bucket|count|sum)$", "", name)
            for expr in exprs for name in re.findall(r"\blucent_[a-z_]+", expr)}  # fmt: skip


def test_the_dashboard_queries_only_metrics_the_workers_export() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "lucent-dashboard.json").read_text())
    assert dashboard["uid"] == "lucent-streaming"
    titles = [panel["title"] for panel in dashboard["panels"]]
    for wanted in ("Throughput", "Dead letters", "latency", "lag", "Feed", "ClickHouse", "NATS"):
        assert any(wanted in title for title in titles), (wanted, titles)
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = _queried(exprs)
    assert used, exprs
    assert used - _exported() == set()
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_the_alerting_rules_read_only_exported_metrics_and_are_loaded() -> None:
    """deploy/prometheus/alerts.yml: every rule well formed, on the monitor's figures, with a
    runbook that exists; prometheus.yml loads it and the profile mounts it there."""
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    found = [rule for group in rules["groups"] for rule in group["rules"]]
    names = [rule["alert"] for rule in found]
    assert len(names) == len(set(names))
    assert {"LucentSourceStale", "LucentSourceMissing", "LucentFailureRateHigh",
            "LucentPriceDeviation"} <= set(names)  # fmt: skip
    used = _queried([rule["expr"] for rule in found])
    assert {"lucent_monitor_open_alerts", "lucent_source_age_seconds"} <= used
    assert used - _exported() == set()
    root = DEPLOY.parent
    for rule in found:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule
        assert (root / rule["annotations"]["runbook"]).is_file(), rule
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    compose = yaml.safe_load((DEPLOY / "docker-compose.production.yml").read_text())
    volumes = compose["services"]["prometheus"]["volumes"]
    assert "./prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in volumes


def test_prometheus_scrapes_every_worker_of_the_profile() -> None:
    from streaming.registry import WORKERS

    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = {t for c in jobs["lucent-workers"]["static_configs"] for t in c["targets"]}
    assert targets == {f"{name}:9400" for name in WORKERS}
    assert "kafka-exporter" in jobs and "lucent-local" in jobs


def test_the_production_profile_replicates_as_the_design_record_says() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.production.yml").read_text())
    services = compose["services"]
    brokers = [name for name in services if name.startswith("kafka-") and name[-1].isdigit()]
    assert len(brokers) == 3
    for name in brokers:
        env = services[name]["environment"]
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
    assert len([name for name in services if name.startswith("nats-") and name[-1].isdigit()]) == 3
    assert {"clickhouse", "eventstore", "prometheus", "grafana", "provision"} <= services.keys()
    worker_env = services["processor"]["environment"]
    assert worker_env["LUCENT_KAFKA_REPLICATION_FACTOR"] == "3"
    assert worker_env["LUCENT_KAFKA_MIN_INSYNC_REPLICAS"] == "2"
    assert worker_env["LUCENT_NATS_REPLICAS"] == "3"
    assert worker_env["LUCENT_METRICS_PORT"] == "9400"
    from lucent_platform.config import Settings

    names = {f"LUCENT_{field.upper()}" for field in Settings.model_fields}
    for service in services.values():
        for key in service.get("environment", {}):
            assert not key.startswith("LUCENT_") or key in names, key
