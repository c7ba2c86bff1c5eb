"""``instrument_partitions_sensor``: a backfill partition for every instrument the streams carry.

Reads the distinct (exchange, pair) of the ClickHouse ``prices`` and ``trades`` tables (what the
sink stored from the normalized streams, so canonical pairs and our venue ids) and adds the ones
missing from the ``instruments`` dynamic partitions as ``exchange:pair`` keys. Only venues whose
REST history we can fetch are added (``connectors.rest.LIMITS``): a simulator-only venue would
give partitions no run could fill.

No ``from __future__ import annotations`` here: Dagster reads the sensor's annotations.
"""

import dagster as dg

from assets.history import INSTRUMENTS, instruments_partitions
from lucent_platform.connectors.rest import LIMITS
from lucent_platform.history.instruments import new_instruments
from lucent_platform.history.store import stream_instruments
from resources.clickhouse import ClickHouseResource
from resources.endpoints import platform_settings

BACKFILL_EXCHANGES = frozenset(LIMITS)


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Adds an 'instruments' partition (exchange:pair) for every instrument seen in the "
        "ClickHouse prices/trades tables, so backfills and the daily schedule cover it."
    ),
)
def instrument_partitions_sensor(
    context: dg.SensorEvaluationContext, clickhouse: ClickHouseResource
) -> dg.SensorResult | dg.SkipReason:
    database = clickhouse.database or platform_settings().clickhouse_database
    client = clickhouse.client()
    try:
        seen = stream_instruments(client, database)
    finally:
        client.close()
    known = context.instance.get_dynamic_partitions(INSTRUMENTS)
    new = new_instruments(seen, known, BACKFILL_EXCHANGES)
    if not new:
        return dg.SkipReason(
            f"{len(seen)} instruments on the streams, {len(known)} partitions, none new"
        )
    keys = [instrument.key for instrument in new]
    context.log.info("new instruments: %s", ", ".join(keys))
    return dg.SensorResult(
        dynamic_partitions_requests=[instruments_partitions.build_add_request(keys)]
    )
