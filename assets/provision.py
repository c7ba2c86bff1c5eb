"""The ``provision`` job: everything the platform needs to exist before its workers start.

Topics first (the Kafka-engine tables and the schemas' topics refer to them), then the message
schemas and the analytics schema; the NATS streams stand on their own. Every asset is
idempotent, so the job can run at any time, and after every deploy.
"""

from __future__ import annotations

import dagster as dg

from assets.clickhouse_tables import clickhouse_tables
from assets.nats_streams import nats_streams
from assets.schemas import message_schemas
from assets.topics import kafka_topics

PROVISIONING = [kafka_topics, message_schemas, nats_streams, clickhouse_tables]

provision_job = dg.define_asset_job(
    "provision",
    selection=dg.AssetSelection.assets(*PROVISIONING),
    description="Provision Kafka topics, message schemas, NATS streams and ClickHouse tables.",
    # One process, steps in dependency order: provisioning is a handful of admin calls.
    executor_def=dg.in_process_executor,
)
