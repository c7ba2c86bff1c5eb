"""``nats_streams``: the JetStream streams of the subject catalog, provisioned on NATS.

No ``from __future__ import annotations`` here: Dagster reads the annotations of asset
functions at definition time.
"""

import asyncio

import dagster as dg

from lucent_platform.adapters import nats as nats_adapter
from lucent_platform.subjects import STREAMS
from resources.endpoints import platform_settings
from resources.nats import NatsResource


@dg.asset(
    group_name="control_plane",
    kinds={"nats"},
    description=(
        "Every JetStream stream of lucent_platform.subjects (SIGNALS, TRADING, AGENTS, NOTIFY): "
        "created when missing, updated when its subjects, retention, de-duplication window, "
        "description or replicas (LUCENT_NATS_REPLICAS) differ. Idempotent."
    ),
)
def nats_streams(context: dg.AssetExecutionContext, nats: NatsResource) -> dg.MaterializeResult:
    replicas = platform_settings().nats_replicas
    results = asyncio.run(_provision(nats, replicas))
    failed = [f"{r.stream}: {r.status}" for r in results if r.status.startswith("failed")]
    if failed:
        raise dg.Failure(
            description=f"{len(failed)} stream(s) could not be provisioned",
            metadata={"failed": "\n".join(failed)},
        )
    for r in results:
        context.log.info("stream %s %s %s", r.stream, r.status, ", ".join(r.changed))
    rows = "\n".join(
        f"| {spec.name} | {', '.join(spec.subjects)} | {spec.max_age_s // 86400}d | "
        f"{r.status}{' (' + ', '.join(r.changed) + ')' if r.changed else ''} |"
        for spec, r in zip(STREAMS, results, strict=True)
    )
    return dg.MaterializeResult(
        metadata={
            "streams": len(results),
            "created": sum(r.status == "created" for r in results),
            "updated": sum(r.status == "updated" for r in results),
            "replicas": replicas,
            "catalog": dg.MetadataValue.md(
                "| stream | subjects | max age | this run |\n|---|---|---|---|\n" + rows
            ),
        }
    )


async def _provision(resource: NatsResource, replicas: int) -> list[nats_adapter.StreamResult]:
    client = await resource.connect(name="lucent-provision")
    try:
        js = nats_adapter.jetstream(client)
        return await nats_adapter.provision_streams(js, STREAMS, replicas=replicas)
    finally:
        await client.close()
