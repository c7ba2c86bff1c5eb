"""The Dagster code location (``workspace.yaml`` points here): every asset, sensor and resource.

With ``lucent_platform/cli`` this is one of the two entry points, and so the one core module
that imports Dagster and the ``assets``/``sensors``/``resources`` packages.
"""

from __future__ import annotations

import dagster as dg

from assets.datasets import features
from assets.topics import kafka_topics
from resources import (
    ClickHouseResource,
    EventStoreResource,
    KafkaResource,
    NatsResource,
    StorageResource,
)

defs = dg.Definitions(
    assets=[kafka_topics, features],
    resources={
        "kafka": KafkaResource(),
        "clickhouse": ClickHouseResource(),
        "nats": NatsResource(),
        "eventstore": EventStoreResource(),
        "storage": StorageResource(),
    },
)
