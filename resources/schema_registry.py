"""``SchemaRegistryResource`` (key ``"schema_registry"``): the Schema Registry, when one is set."""

from __future__ import annotations

import dagster as dg

from lucent_platform.adapters.schema_registry import SchemaRegistry
from resources.endpoints import platform_settings


class SchemaRegistryResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """A Confluent-compatible registry; none configured means schemas are only checked."""

    url: str | None = None
    """Unset: LUCENT_SCHEMA_REGISTRY_URL (credentials always from the settings)."""

    def registry(self) -> SchemaRegistry | None:
        settings = platform_settings()
        url = self.url or settings.schema_registry_url
        if not url:
            return None
        password = settings.schema_registry_password
        return SchemaRegistry(
            url,
            username=settings.schema_registry_username,
            password=password.get_secret_value() if password is not None else None,
        )
