"""Predictions agents publish on NATS, recorded on Kafka for the ClickHouse sink.

The ``AGENTS`` JetStream stream keeps ``agents.predictions.>``; a durable pull consumer
(explicit acks) reads it in batches. Each message becomes a ``model_prediction`` envelope on
``agents.predictions`` (keyed by pair) or, when ``agents.predictions.record`` rejects it, a
dead letter on ``market.deadletter`` with the reason — a malformed prediction never stops the
worker. Messages are acknowledged only once Kafka acknowledged what they became; on a
delivery failure the batch is negatively acknowledged and JetStream redelivers it, so nothing
is lost, and a prediction recorded twice has the same message id (one row after merges).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any

from confluent_kafka import KafkaError, Message, Producer
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from lucent_platform.agents.predictions import PredictionRejected, dead_letter, record
from lucent_platform.envelope import encode
from lucent_platform.processing import deadletter

log = logging.getLogger(__name__)

DURABLE = "lucent-agents-predictions"
FILTER = "agents.predictions.>"
STREAM = "AGENTS"
BATCH = 500


class Recorder:
    """One durable consumer's batches → Kafka, acked after delivery."""

    def __init__(
        self,
        js: JetStreamContext,
        producer: Producer,
        counts: Counter[str],
        *,
        topic: str,
        deadletter_topic: str,
        durable: str = DURABLE,
        filter_subject: str = FILTER,
    ) -> None:
        self.js = js
        self.producer = producer
        self.counts = counts
        self.topic = topic
        self.deadletter_topic = deadletter_topic
        self.durable = durable
        self.filter_subject = filter_subject
        self._sub: JetStreamContext.PullSubscription | None = None

    async def start(self) -> None:
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=30.0,
            filter_subject=self.filter_subject,
        )
        self._sub = await self.js.pull_subscribe(
            self.filter_subject, durable=self.durable, stream=STREAM, config=config
        )

    async def step(self, timeout: float = 0.5) -> int:
        """Record one batch (waiting up to ``timeout`` for it); how many messages it held."""
        assert self._sub is not None, "start() first"
        try:
            msgs = await self._sub.fetch(BATCH, timeout=timeout)
        except TimeoutError:  # nats' own TimeoutError or asyncio's, by code path: both are one
            return 0
        failures: list[KafkaError] = []

        def on_delivery(error: KafkaError | None, _message: Message) -> None:
            if error is not None:
                failures.append(error)

        for msg in msgs:
            self._produce(msg, on_delivery)
        remaining = await asyncio.to_thread(self.producer.flush, 30.0)
        if failures or remaining:
            log.warning("predictions not delivered to Kafka (%s); JetStream will redeliver",
                        failures[0] if failures else f"{remaining} pending")  # fmt: skip
            self.counts["redelivered"] += len(msgs)
            for msg in msgs:
                await msg.nak(delay=1.0)
            return len(msgs)
        for msg in msgs:
            await msg.ack()
        return len(msgs)

    def _produce(self, msg: Msg, on_delivery: Any) -> None:
        now = time.time_ns() // 1_000_000
        try:
            envelope = record(msg.subject, msg.data, now)
        except PredictionRejected as problem:
            letter = dead_letter(msg.subject, _sequence(msg), msg.data, problem, now)
            self.producer.produce(
                self.deadletter_topic, deadletter.encode(letter), msg.subject.encode(),
                on_delivery=on_delivery,
            )  # fmt: skip
            self.counts[f"dead.{problem.reason}"] += 1
            log.info("prediction on %s dead-lettered: %s", msg.subject, problem)
            return
        self.producer.produce(
            self.topic, encode(envelope), envelope.data.pair.encode(), on_delivery=on_delivery
        )
        self.counts["predictions"] += 1

    async def drain(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None


def _sequence(msg: Msg) -> int:
    try:
        return int(msg.metadata.sequence.stream)
    except Exception:  # not a JetStream message (no metadata): no sequence to point at
        return -1
