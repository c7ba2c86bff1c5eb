"""``lucent worker agents``: the request/reply service and the predictions recorder.

One asyncio loop: the prices follower's batches are read in a thread and applied to the
live market in the loop (so queries never see a half-applied batch), the query subscription
answers from it, and the recorder moves predictions from JetStream to Kafka. The ``AGENTS``
stream is provisioned from the subject catalog at start (idempotent, as the Dagster asset
does), so the recorder can start before anyone ran the provisioning job.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable

from nats.errors import Error as NatsError

from lucent_platform import subjects
from lucent_platform.adapters import kafka
from lucent_platform.adapters import nats as nats_adapter
from lucent_platform.agents.market import LiveMarket
from lucent_platform.config import Settings
from lucent_platform.stack.endpoints import Endpoints
from lucent_platform.topics import AGENTS_PREDICTIONS, DEADLETTER, Kind, normalized
from streaming.agents.follow import CLIENT_ID, PriceFollower
from streaming.agents.recorder import DURABLE, FILTER, Recorder
from streaming.agents.replies import serve, wall_ms
from streaming.exposed import expose
from streaming.lifecycle import StopSignal
from streaming.runtime.metrics import WorkerMetrics

log = logging.getLogger(__name__)

AGENTS_STREAM = next(spec for spec in subjects.STREAMS if spec.name == "AGENTS")


def run(
    settings: Settings,
    bootstrap: str,
    nats_url: str,
    stop: StopSignal,
    *,
    prices_topic: str = normalized(Kind.PRICES),
    predictions_topic: str = AGENTS_PREDICTIONS,
    deadletter_topic: str = DEADLETTER,
    durable: str = DURABLE,
    filter_subject: str = FILTER,
    clock_ms: Callable[[], int] = wall_ms,
) -> Counter[str]:
    """Serve and record until ``stop``; the counts (queries, predictions, dead.*, updates …).

    The topics, durable consumer and subject filter are the catalog's; tests pass their own.
    """
    serving = _run(settings, bootstrap, nats_url, stop, prices_topic, predictions_topic,
                   deadletter_topic, durable, filter_subject, clock_ms)  # fmt: skip
    return asyncio.run(serving)


async def _run(
    settings: Settings,
    bootstrap: str,
    nats_url: str,
    stop: StopSignal,
    prices_topic: str,
    predictions_topic: str,
    deadletter_topic: str,
    durable: str,
    filter_subject: str,
    clock_ms: Callable[[], int],
) -> Counter[str]:
    metrics = WorkerMetrics()
    counts = metrics.counts
    market = LiveMarket()
    follower = PriceFollower(settings, bootstrap, prices_topic, market, metrics)
    # On the metrics endpoint: prices consumed (the rate), queries and predictions as events,
    # a price's Kafka timestamp → in the market as latency, the follower's lag.
    expose("stage", CLIENT_ID, metrics)
    expose("lag", CLIENT_ID, follower)
    producer = kafka.producer(settings, bootstrap, **{"client.id": CLIENT_ID})
    client = await nats_adapter.connect(settings, nats_url, name=CLIENT_ID)
    try:
        js = nats_adapter.jetstream(client)
        (result,) = await nats_adapter.provision_streams(
            js, [AGENTS_STREAM], replicas=settings.nats_replicas
        )
        if result.status.startswith("failed"):
            raise RuntimeError(f"JetStream stream {result.stream}: {result.status}")
        since = clock_ms() - settings.agents_warmup_s * 1000
        if not await asyncio.to_thread(follower.start, since, stop):
            return counts
        await serve(client, market, counts, stale_ms=settings.agents_stale_ms, clock_ms=clock_ms)
        recorder = Recorder(js, producer, counts, topic=predictions_topic,
                            deadletter_topic=deadletter_topic, durable=durable,
                            filter_subject=filter_subject)  # fmt: skip
        await recorder.start()
        log.info("agents service: queries on %s, predictions %s → %s",
                 "agents.query.>", filter_subject, predictions_topic)  # fmt: skip
        await asyncio.gather(_follow(follower, stop), _record(recorder, stop))
        await recorder.drain()
        return counts
    finally:
        follower.close()
        await client.drain()
        producer.flush(10)


async def _follow(follower: PriceFollower, stop: StopSignal) -> None:
    while not stop.stopped:
        records = await asyncio.to_thread(follower.poll, 0.2)
        if records:
            follower.apply(records)
        else:
            await asyncio.sleep(0)  # let queries in between empty polls


async def _record(recorder: Recorder, stop: StopSignal) -> None:
    while not stop.stopped:
        try:
            await recorder.step(timeout=0.5)
        except NatsError as exc:  # NATS away (a restart): unacked messages are redelivered
            log.warning("recording predictions paused: %s", exc)
            await asyncio.sleep(1.0)


def main(settings: Settings, endpoints: Endpoints) -> None:
    counts = run(settings, endpoints.kafka_bootstrap_servers, endpoints.nats_url,
                 StopSignal().install())  # fmt: skip
    log.info("agents worker stopped: %s", dict(counts))
