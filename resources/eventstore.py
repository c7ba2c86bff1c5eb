"""``EventStoreResource`` (key ``"eventstore"``): the domain event store for assets."""

from __future__ import annotations

import dagster as dg

from lucent_platform.eventstore import EventStore, open_event_store
from resources.endpoints import platform_endpoints, platform_settings


class EventStoreResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """EventStoreDB/KurrentDB by URI, or the embedded SQLite store by path."""

    location: str | None = None
    """Unset: LUCENT_EVENTSTORE_URI / _PATH, or the running local stack's store."""

    def open(self) -> EventStore:
        return open_event_store(self.location or platform_endpoints(platform_settings()).eventstore)
