"""``KafkaResource`` (key ``"kafka"``): admin, producer and consumer clients for assets."""

from __future__ import annotations

from typing import Any

import dagster as dg
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings
from resources.endpoints import platform_endpoints, platform_settings


class KafkaResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Kafka clients built from the platform settings (SASL/TLS passthrough included)."""

    bootstrap_servers: str | None = None
    """Unset: LUCENT_KAFKA_BOOTSTRAP_SERVERS, or the running local stack's broker."""

    def settings(self) -> Settings:
        return platform_settings()

    def bootstrap(self) -> str:
        if self.bootstrap_servers:
            return self.bootstrap_servers
        return platform_endpoints(self.settings()).kafka_bootstrap_servers

    def admin(self) -> AdminClient:
        return kafka.admin(self.settings(), self.bootstrap())

    def producer(self, **overrides: Any) -> Producer:
        return kafka.producer(self.settings(), self.bootstrap(), **overrides)

    def consumer(self, group_id: str, **overrides: Any) -> Consumer:
        return kafka.consumer(self.settings(), self.bootstrap(), group_id, **overrides)
