"""``NatsResource`` (key ``"nats"``): NATS JetStream connections for assets and sensors."""

from __future__ import annotations

import dagster as dg
from nats.aio.client import Client

from lucent_platform.adapters import nats
from resources.endpoints import platform_endpoints, platform_settings


class NatsResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Connections to NATS with the platform's credentials."""

    url: str | None = None
    """Unset: LUCENT_NATS_URL, or the running local stack's nats-server."""

    def server_url(self) -> str:
        return self.url or platform_endpoints(platform_settings()).nats_url

    async def connect(self, name: str = "lucent-dagster") -> Client:
        return await nats.connect(platform_settings(), self.server_url(), name=name)
