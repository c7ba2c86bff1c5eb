"""``lucent worker predictions``: normalized market data → model predictions on NATS
``agents.predictions.{model}.{pair}``.

Loads the newest file of ``LUCENT_PREDICTIONS_MODEL`` (``DATA_DIR/models/NAME/``, and every
30 s a newer one, if it was trained on the same dataset config; another config needs a
restart, which rebuilds the features), computes the model's dataset features online
with the same ``PairFeatures`` the dataset asset used (``lucent_platform.models.predictor``),
and publishes one prediction per pair and closed bar, with ``Nats-Msg-Id`` = model version,
pair and bar so a replay publishes nothing twice within JetStream's duplicate window.

The features need their input in event-time order across three topics, as the dataset reads
it. Each partition is in order, but the consumer interleaves partitions in fetch-sized chunks,
so input is put back in order (``Reorder``) before the features see it:

1. **Warm-up**, no consumer group and no commits: every partition of ``market.prices.all``,
   ``market.trades.all`` and ``market.yields.all`` from ``warmup_bars`` bars ago (a time seek
   that works on the local broker too, ``adapters.kafka_time``) up to its end at the start is
   read whole, sorted, and fed; only bars closing within the last interval are published.
2. **Live**: input waits ``LATENESS_MS`` (2 s) for the other topics, then goes in event
   order, and bars close once that watermark passes their end (a prediction leaves about
   2 s after its bar, even when the pair's next quote is late); what arrives later than that
   behind its bar is late, counted and ignored.

Each instance reads every partition, so run one per model.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import Consumer, Message, TopicPartition

from lucent_platform import subjects
from lucent_platform.adapters import kafka, kafka_time
from lucent_platform.adapters import nats as nats_adapter
from lucent_platform.config import Settings
from lucent_platform.envelope import Envelope, EnvelopeError, decode
from lucent_platform.models.baseline import TrainedModel, latest_path, load_latest
from lucent_platform.models.predictor import Predictor, Reorder, encode
from lucent_platform.stack.endpoints import Endpoints
from lucent_platform.topics import Kind, normalized
from streaming.lifecycle import StopSignal

log = logging.getLogger(__name__)

INPUTS = (normalized(Kind.PRICES), normalized(Kind.TRADES), normalized(Kind.YIELDS))
GROUP_ID = "lucent-predictions"  # never joined or committed: a client id for the broker's logs


def model_available(settings: Settings) -> bool:
    """Whether a model file exists (``lucent up`` starts the worker only then)."""
    return latest_path(settings.data_dir, settings.predictions_model) is not None


RELOAD_EVERY_S = 30.0
"""How often the worker looks for a newer file of its model."""

LATENESS_MS = 2_000
"""How long live input waits for other topics' input of the same moment (``Reorder``):
a prediction leaves this long after its bar's closing quote at the earliest."""


def run(
    settings: Settings,
    bootstrap: str,
    nats_url: str,
    stop: StopSignal,
    *,
    topics: Sequence[str] = INPUTS,
    model: TrainedModel | None = None,
    lateness_ms: int = LATENESS_MS,
    clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
) -> Counter[str]:
    """Publish predictions until ``stop``; the counts (in, warm-up, predictions, undecodable,
    late)."""
    reload = model is None  # a model handed in (tests, benchmarks) stays
    model = model or load_latest(settings.data_dir, settings.predictions_model)
    return asyncio.run(
        _run(settings, bootstrap, nats_url, stop, topics, model, lateness_ms, clock_ms, reload)
    )


async def _run(
    settings: Settings,
    bootstrap: str,
    nats_url: str,
    stop: StopSignal,
    topics: Sequence[str],
    model: TrainedModel,
    lateness_ms: int,
    clock_ms: Callable[[], int],
    reload: bool,
) -> Counter[str]:
    config = model.config
    now = clock_ms()
    predictor = Predictor(model, live_from_ms=now - config.interval_ms)
    held = Reorder()
    counts: Counter[str] = Counter()
    consumer = kafka.consumer(settings, bootstrap, GROUP_ID, **{"auto.offset.reset": "earliest"})
    client = await nats_adapter.connect(settings, nats_url, name=GROUP_ID)

    async def publish(envelopes: list[Envelope[Any]], until_ms: int | None = None) -> None:
        predictions = predictor.add(envelopes, until_ms)
        for prediction in predictions:
            subject = subjects.agents_predictions(prediction.model, prediction.pair)
            msg_id = f"{prediction.version}/{prediction.pair}/{prediction.time}"
            await client.publish(subject, encode(prediction), headers={"Nats-Msg-Id": msg_id})
            counts["predictions"] += 1
        if predictions:
            await client.flush()

    try:
        warm_from = now - config.warmup_bars * config.interval_ms
        starts, ends = await asyncio.to_thread(_span, consumer, topics, warm_from, stop)
        consumer.assign(starts)
        log.info("predictions of %s (%s) for %s from %d partitions", model.name,
                 model.version, ", ".join(config.pairs), len(starts))  # fmt: skip
        # Warm-up: everything up to the ends as of the start, read whole, then in event order.
        pending = {
            (tp.topic, tp.partition) for tp in starts if tp.offset < ends[tp.topic, tp.partition]
        }
        while pending and not stop.stopped:
            messages = await asyncio.to_thread(consumer.consume, 1000, 0.2)
            held.add(_decode(messages, counts))
            for m in messages:
                key = (m.topic() or "", m.partition() or 0)
                if key in pending and (m.offset() or 0) + 1 >= ends[key]:
                    pending.discard(key)
        warm = held.release()
        counts["warm-up"] = len(warm)
        await publish(warm)
        # Live: input waits lateness_ms for the other topics, then goes in event order.
        checked = time.monotonic()
        while not stop.stopped:
            messages = await asyncio.to_thread(consumer.consume, 1000, 0.2)
            held.add(_decode(messages, counts))
            watermark = clock_ms() - lateness_ms
            await publish(held.release(watermark), watermark)
            if reload and time.monotonic() - checked >= RELOAD_EVERY_S:
                checked = time.monotonic()
                _reload(settings, predictor, counts)
        counts["late"] = predictor.late
        return counts
    finally:
        consumer.close()
        await client.drain()


def _reload(settings: Settings, predictor: Predictor, counts: Counter[str]) -> None:
    """Swap in a newer file of the model, if one was trained meanwhile and fits."""
    path = latest_path(settings.data_dir, predictor.model.name)
    if path is None or path.name == predictor.model.version:
        return
    try:
        predictor.swap(load_latest(settings.data_dir, predictor.model.name))
    except ValueError as exc:
        if counts["reload refused"] == 0:
            log.warning("%s", exc)
        counts["reload refused"] += 1
        return
    counts["reloads"] += 1
    log.info("now predicting with %s", path.name)


def _decode(messages: list[Message], counts: Counter[str]) -> list[Envelope[Any]]:
    envelopes = []
    for message in messages:
        value = message.value()
        if message.error() is not None or value is None:
            continue
        counts["in"] += 1
        try:
            envelopes.append(decode(value))
        except EnvelopeError:
            counts["undecodable"] += 1
    return envelopes


def _span(
    consumer: Consumer, topics: Sequence[str], since_ms: int, stop: StopSignal
) -> tuple[list[TopicPartition], dict[tuple[str, int], int]]:
    """Where to start (the first record at or after ``since_ms``) and each partition's end
    now; nothing when stopped while waiting for a topic."""
    starts = kafka_time.offsets_at_time(consumer, topics, since_ms, stop.wait) or []
    ends = kafka.end_offsets(consumer, [TopicPartition(t.topic, t.partition) for t in starts])
    return starts, {key: high for key, (_, high) in ends.items()}


def main(settings: Settings, endpoints: Endpoints) -> None:
    counts = run(settings, endpoints.kafka_bootstrap_servers, endpoints.nats_url,
                 StopSignal().install())  # fmt: skip
    log.info("predictions worker stopped: %s", dict(counts))
