"""The Dagster code location (``workspace.yaml`` points here): every asset, sensor and resource.

With ``lucent_platform/cli`` this is one of the two entry points, and so the one core module
that imports Dagster and the ``assets``/``sensors``/``resources`` packages.
"""

from __future__ import annotations

import dagster as dg

from assets.archive import raw_tables
from assets.datasets import features
from assets.history import history_daily_schedule, history_job, ohlcv_history, trades_history
from assets.models import baseline
from assets.monitor_alerts import monitor_alert_checks
from assets.provision import PROVISIONING, provision_job
from assets.quality import quality_checks, quality_job, quality_schedule
from assets.streams import stream_specs
from lucent_platform.config import load_settings
from resources import (
    ClickHouseResource,
    EventStoreResource,
    KafkaResource,
    NatsResource,
    StorageResource,
)
from resources.exchanges import ExchangeRestResource
from resources.schema_registry import SchemaRegistryResource
from sensors.instruments import instrument_partitions_sensor
from sensors.stream_observations import stream_observations_sensor

settings = load_settings()  # read once, as the location loads

defs = dg.Definitions(
    assets=[
        *PROVISIONING,
        # The feeds, topics and tables the workers write (external: observed, not run), for
        # the configured exchanges × pairs (the settings read above).
        *stream_specs(settings),
        features,
        baseline,
        raw_tables,
        ohlcv_history,
        trades_history,
    ],
    asset_checks=[*quality_checks, monitor_alert_checks(settings)],
    jobs=[provision_job, history_job, quality_job],
    schedules=[history_daily_schedule, quality_schedule],
    sensors=[instrument_partitions_sensor, stream_observations_sensor],
    resources={
        "kafka": KafkaResource(),
        "clickhouse": ClickHouseResource(),
        "nats": NatsResource(),
        "eventstore": EventStoreResource(),
        "storage": StorageResource(),
        "exchange_rest": ExchangeRestResource(),
        "schema_registry": SchemaRegistryResource(),
    },
)
