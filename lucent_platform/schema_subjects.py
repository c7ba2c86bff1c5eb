"""What the schema asset registers in a Confluent-compatible Schema Registry, and under which
subject: pure, from the checked-in schema files.

Subjects follow the record-name strategy: the envelope record's full name, e.g.
``lucent.market.PriceUpdateEnvelope``. Not ``<topic>-value``: one topic carries several kinds
(``market.orderbook.all`` holds snapshots and deltas, ``market.deadletter`` anything), and a
topic subject with BACKWARD compatibility would refuse the second kind. Every version of a
kind is registered, oldest first, so the registry holds the whole history and checks each new
version against it as our own check (``schema_files.check``) does::

    for step in registrations():
        registry.register(step.subject, step.schema)   # idempotent: same schema, same id
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lucent_platform.messages import MESSAGE_TYPES
from lucent_platform.schema_files import SCHEMA_DIR, Kinds, load, versions

COMPATIBILITY = "BACKWARD"


@dataclass(frozen=True)
class Registration:
    message_type: str
    subject: str
    version: int  # our file version (the registry numbers its own versions)
    schema: str  # the Avro schema as canonical JSON text


def subject(schema: dict[str, object]) -> str:
    """The record-name strategy's subject: ``namespace.name`` of the top-level record."""
    name = str(schema["name"])
    namespace = schema.get("namespace")
    return name if "." in name or not namespace else f"{namespace}.{name}"


def registrations(root: Path = SCHEMA_DIR, kinds: Kinds = MESSAGE_TYPES) -> list[Registration]:
    """Every Avro schema version of every kind, oldest first within a kind."""
    steps = []
    for message_type in kinds:
        for version in versions(message_type, "avro", root):
            schema = load(message_type, version, "avro", root)
            steps.append(
                Registration(
                    message_type,
                    subject(schema),
                    version,
                    json.dumps(schema, separators=(",", ":"), sort_keys=True),
                )
            )
    return steps
