"""``message_schemas``: the envelope schema files checked, and registered when a registry is set.

No ``from __future__ import annotations`` here: Dagster reads the annotations of asset
functions at definition time.
"""

from pathlib import Path
from typing import Any

import dagster as dg

from lucent_platform import schema_files
from lucent_platform.adapters.schema_registry import SchemaRegistryError
from lucent_platform.schema_subjects import COMPATIBILITY, Registration, registrations
from resources.schema_registry import SchemaRegistryResource


class SchemaCheckConfig(dg.Config):
    schema_dir: str = ""
    """A schema folder to check instead of the package's own (e.g. a release candidate's)."""


@dg.asset(
    group_name="control_plane",
    kinds={"avro"},
    deps=["kafka_topics"],
    description=(
        "The message envelope schemas (schemas/avro, schemas/json): every version must read "
        "every older one (backward compatible) and the newest must match the models. With "
        "LUCENT_SCHEMA_REGISTRY_URL set, every version is registered, oldest first, under its "
        "record name (lucent.market.PriceUpdateEnvelope …) with compatibility BACKWARD."
    ),
)
def message_schemas(
    context: dg.AssetExecutionContext,
    config: SchemaCheckConfig,
    schema_registry: SchemaRegistryResource,
) -> dg.MaterializeResult:
    root = Path(config.schema_dir) if config.schema_dir else schema_files.SCHEMA_DIR
    problems = schema_files.check(root)
    if problems:
        raise dg.Failure(
            description="incompatible or stale schema files: " + "; ".join(problems),
            metadata={"problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems))},
        )
    steps = registrations(root)
    metadata: dict[str, Any] = {
        "kinds": len({step.message_type for step in steps}),
        "versions": len(steps),
    }
    registry = schema_registry.registry()
    if registry is None:
        context.log.info("no LUCENT_SCHEMA_REGISTRY_URL: schemas checked, not registered")
        metadata["registry"] = "not configured (checked only)"
        metadata["schemas"] = dg.MetadataValue.md(_table(steps, {}))
        return dg.MaterializeResult(metadata=metadata)
    ids: dict[tuple[str, int], int] = {}
    try:
        for subject in dict.fromkeys(step.subject for step in steps):
            registry.set_compatibility(subject, COMPATIBILITY)
        for step in steps:
            ids[(step.subject, step.version)] = registry.register(step.subject, step.schema)
    except SchemaRegistryError as exc:
        raise dg.Failure(description=f"schema registration failed: {exc}") from None
    metadata["registry"] = dg.MetadataValue.url(registry.url)
    metadata["schemas"] = dg.MetadataValue.md(_table(steps, ids))
    return dg.MaterializeResult(metadata=metadata)


def _table(steps: list[Registration], ids: dict[tuple[str, int], int]) -> str:
    rows = [
        f"| {s.message_type} | v{s.version} | {s.subject} | {ids.get((s.subject, s.version), '')} |"
        for s in steps
    ]
    return "| kind | version | subject | registry id |\n|---|---|---|---|\n" + "\n".join(rows)
