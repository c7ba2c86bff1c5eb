"""NATS for the always-on domain workers: connect (waiting for the server), provision streams."""

from __future__ import annotations

import asyncio
import logging

from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import JetStreamContext

from lucent_platform.adapters import nats as nats_adapter
from lucent_platform.config import Settings
from lucent_platform.redaction import redact_urls
from lucent_platform.subjects import STREAMS
from streaming.lifecycle import StopSignal

log = logging.getLogger(__name__)


async def connect_until_up(
    settings: Settings, url: str, stop: StopSignal, *, name: str, max_backoff_s: float = 5.0
) -> Client | None:
    """A connection that reconnects for ever; waits (with back-off) for the server to come up
    at start too. None if told to stop first."""
    backoff = 0.2
    while not stop.stopped:
        try:
            return await nats_adapter.connect(
                settings, url, name=f"lucent-{name}", reconnect_forever=True
            )
        except (NatsError, OSError) as exc:
            log.warning(
                "%s: NATS at %s not reachable (%s); retrying in %.1fs",
                name,
                redact_urls(url),
                redact_urls(str(exc)),
                backoff,
            )
            if await asyncio.to_thread(stop.wait, backoff):
                break
            backoff = min(backoff * 2, max_backoff_s)
    return None


async def provision(settings: Settings, js: JetStreamContext) -> None:
    """The catalog's JetStream streams, created or brought in line (idempotent)."""
    results = await nats_adapter.provision_streams(js, STREAMS, replicas=settings.nats_replicas)
    failed = [r for r in results if r.status.startswith("failed")]
    if failed:
        raise RuntimeError(
            f"JetStream stream {failed[0].stream} could not be provisioned: {failed[0].status}"
        )
    log.info("JetStream streams ready: %s", ", ".join(f"{r.stream} {r.status}" for r in results))
