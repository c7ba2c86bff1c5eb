"""Dagster resources: thin wrappers that hand assets and sensors the core adapters."""

from resources.clickhouse import ClickHouseResource
from resources.eventstore import EventStoreResource
from resources.kafka import KafkaResource
from resources.nats import NatsResource
from resources.storage import StorageResource

__all__ = [
    "ClickHouseResource",
    "EventStoreResource",
    "KafkaResource",
    "NatsResource",
    "StorageResource",
]
