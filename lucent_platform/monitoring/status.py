"""The open data-quality alerts as ``lucent status`` shows them: read from the alerts topic."""

from __future__ import annotations

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings
from lucent_platform.messages.monitoring import MonitoringAlert
from lucent_platform.monitoring.alerts import still_open
from lucent_platform.stack.endpoints import Endpoints
from lucent_platform.topics import MONITORING_ALERTS


def open_alerts(
    settings: Settings,
    endpoints: Endpoints,
    *,
    topic: str = MONITORING_ALERTS,
    limit: int = 100_000,
) -> list[MonitoringAlert]:
    """Alerts opened and not yet resolved, oldest first: the alerts topic read from its start
    (latest record per alert id), without joining a consumer group. Empty when the topic does
    not exist yet. Takes about a second (the read ends after 1 s without new records)."""
    bootstrap = endpoints.kafka_bootstrap_servers
    return open_alerts_on(settings, bootstrap, topic=topic, limit=limit)


def open_alerts_on(
    settings: Settings, bootstrap: str, *, topic: str = MONITORING_ALERTS, limit: int = 100_000
) -> list[MonitoringAlert]:
    """``open_alerts`` from the broker at ``bootstrap`` (the Dagster sensor's resource)."""
    records = kafka.read_topic(settings, bootstrap, topic, limit=limit)
    return still_open(r.value for r in records)
