"""``ClickHouseResource`` (key ``"clickhouse"``): a clickhouse-connect client for assets."""

from __future__ import annotations

from typing import Any

import dagster as dg

from lucent_platform.adapters import clickhouse
from resources.endpoints import platform_endpoints, platform_settings


class ClickHouseResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The same client code for the embedded server and a real ClickHouse cluster."""

    url: str | None = None
    """Unset: LUCENT_CLICKHOUSE_URL, or the running local stack's embedded server."""

    def client(self) -> Any:
        settings = platform_settings()
        url = self.url or platform_endpoints(settings).clickhouse_url
        return clickhouse.connect(
            url,
            username=settings.clickhouse_user,
            password=settings.clickhouse_password.get_secret_value(),
        )
