"""``lucent worker predictions``: normalized market data → model predictions on NATS
``agents.predictions.{model}.{pair}``.

Loads the newest file of ``LUCENT_PREDICTIONS_MODEL`` (``DATA_DIR/models/NAME/``; a newly
trained model is picked up at the next start), computes the model's dataset features online
with the same ``PairFeatures`` the dataset asset used (``lucent_platform.models.predictor``),
and publishes one prediction per pair and closed bar, with ``Nats-Msg-Id`` = model version,
pair and bar so a replay publishes nothing twice within JetStream's duplicate window.

No consumer group and no commits: the worker's state is the features' windows, which it
rebuilds at every start by reading ``market.prices.all``, ``market.trades.all`` and
``market.yields.all`` from ``warmup_bars`` bars ago (a time seek per partition that works on
the local broker too, ``adapters.kafka_time``); bars closing during that replay are not
published. Each instance reads every partition, so run one per model.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence

from confluent_kafka import Consumer, TopicPartition

from lucent_platform import subjects
from lucent_platform.adapters import kafka, kafka_time
from lucent_platform.adapters import nats as nats_adapter
from lucent_platform.config import Settings
from lucent_platform.envelope import EnvelopeError, decode
from lucent_platform.models.baseline import TrainedModel, latest_path, load_latest
from lucent_platform.models.predictor import Predictor, encode
from lucent_platform.stack.endpoints import Endpoints
from lucent_platform.topics import Kind, normalized
from streaming.lifecycle import StopSignal

log = logging.getLogger(__name__)

INPUTS = (normalized(Kind.PRICES), normalized(Kind.TRADES), normalized(Kind.YIELDS))
GROUP_ID = "lucent-predictions"  # never joined or committed: a client id for the broker's logs


def model_available(settings: Settings) -> bool:
    """Whether a model file exists (``lucent up`` starts the worker only then)."""
    return latest_path(settings.data_dir, settings.predictions_model) is not None


def run(
    settings: Settings,
    bootstrap: str,
    nats_url: str,
    stop: StopSignal,
    *,
    topics: Sequence[str] = INPUTS,
    model: TrainedModel | None = None,
    clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
) -> Counter[str]:
    """Publish predictions until ``stop``; the counts (in, predictions, undecodable, late)."""
    model = model or load_latest(settings.data_dir, settings.predictions_model)
    return asyncio.run(_run(settings, bootstrap, nats_url, stop, topics, model, clock_ms))


async def _run(
    settings: Settings,
    bootstrap: str,
    nats_url: str,
    stop: StopSignal,
    topics: Sequence[str],
    model: TrainedModel,
    clock_ms: Callable[[], int],
) -> Counter[str]:
    config = model.config
    now = clock_ms()
    predictor = Predictor(model, live_from_ms=now - config.interval_ms)
    counts: Counter[str] = Counter()
    consumer = kafka.consumer(settings, bootstrap, GROUP_ID, **{"auto.offset.reset": "earliest"})
    client = await nats_adapter.connect(settings, nats_url, name=GROUP_ID)
    try:
        warm_from = now - config.warmup_bars * config.interval_ms
        starts = await asyncio.to_thread(_start_offsets, consumer, topics, warm_from, stop)
        consumer.assign(starts)
        log.info("predictions of %s (%s) for %s from %d partitions", model.name,
                 model.version, ", ".join(config.pairs), len(starts))  # fmt: skip
        while not stop.stopped:
            messages = await asyncio.to_thread(consumer.consume, 1000, 0.2)
            envelopes = []
            for message in messages:
                value = message.value()
                if message.error() is not None or value is None:
                    continue
                try:
                    envelopes.append(decode(value))
                except EnvelopeError:
                    counts["undecodable"] += 1
            counts["in"] += len(messages)
            for prediction in predictor.add(envelopes):
                subject = subjects.agents_predictions(prediction.model, prediction.pair)
                msg_id = f"{prediction.version}/{prediction.pair}/{prediction.time}"
                await client.publish(subject, encode(prediction), headers={"Nats-Msg-Id": msg_id})
                counts["predictions"] += 1
            if envelopes:
                await client.flush()
        counts["late"] = predictor.late
        return counts
    finally:
        consumer.close()
        await client.drain()


def _start_offsets(
    consumer: Consumer, topics: Sequence[str], since_ms: int, stop: StopSignal
) -> list[TopicPartition]:
    """Every partition of ``topics`` at its first record at or after ``since_ms`` (waiting
    for a topic that does not exist yet)."""
    starts: list[TopicPartition] = []
    for topic in topics:
        while True:
            found = consumer.list_topics(topic, timeout=10).topics.get(topic)
            if found is not None and found.error is None and found.partitions:
                break
            if stop.wait(1.0):
                return starts
        for partition in sorted(found.partitions):
            offset, _ = kafka_time.offset_for_time(consumer, topic, partition, since_ms)
            starts.append(TopicPartition(topic, partition, offset))
    return starts


def main(settings: Settings, endpoints: Endpoints) -> None:
    counts = run(settings, endpoints.kafka_bootstrap_servers, endpoints.nats_url,
                 StopSignal().install())  # fmt: skip
    log.info("predictions worker stopped: %s", dict(counts))
