"""``lucent worker bridge``: signal records on Kafka → commands on NATS JetStream.

Reads ``yield.opportunities``, ``arbitrage.opportunities`` and ``user.alerts`` (consumer
group ``lucent-bridge``), turns each record into a ``Command`` (``domain/bridge.py``) and
publishes it on its subject with ``Nats-Msg-Id`` = the command id; a record that is no valid
signal goes to ``market.deadletter`` with the reason. A batch's offsets are committed only
once JetStream acknowledged every command of it and the dead letters are delivered.

**Why a loop of its own, not ``run_worker``**: the runtime's at-least-once bookkeeping
(outputs in flight, delivery callbacks, transactions, checkpoints) is built around one
Kafka producer; plugging NATS in would mean a second output type through all of it. The
bridge needs none of the rest (no windows, no state), and a straight loop is easy to check:
consume a batch → publish its commands concurrently and await every ack → deliver the dead
letters → commit synchronously → next batch. Nothing is committed ahead of an ack, and
rebalance callbacks only run in the next ``poll``, after the commit.

**NATS down**: the commands not acknowledged are published again (same ``Nats-Msg-Id``, so
one that did land is dropped as a duplicate), with back-off from 0.1 s doubling to
``max_backoff_s``; meanwhile the input partitions are paused, so librdkafka stops
prefetching and memory holds one batch. Stopping during an outage commits nothing: the
batch is read again at the next start. An outage longer than ``max.poll.interval.ms`` (5 min)
costs the group membership and the batch's commit; the new owner repeats it, and the
repeats are dropped by JetStream (``Nats-Msg-Id``) and by the event store (event id =
command id). Commands of one batch may reach JetStream out of order after a retry: the
handlers do not depend on order.

JetStream streams are provisioned (``subjects.STREAMS``) before the first record is read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition

from lucent_platform.adapters import kafka
from lucent_platform.adapters import nats as nats_adapter
from lucent_platform.config import Settings
from lucent_platform.domain import bridge, commands
from lucent_platform.processing import deadletter
from lucent_platform.stack.endpoints import Endpoints
from lucent_platform.topics import DEADLETTER
from streaming.domain.connection import connect_until_up, provision
from streaming.exposed import expose
from streaming.lifecycle import StopSignal
from streaming.runtime.consume import next_batch
from streaming.runtime.lag import LAG_EVERY_S, consumer_lag
from streaming.runtime.metrics import WorkerMetrics

log = logging.getLogger(__name__)

GROUP_ID = "lucent-bridge"
CONSUMER_OVERRIDES = {"auto.offset.reset": "earliest"}


def clock_ms() -> int:
    return time.time_ns() // 1_000_000


class Bridge:
    """One bridge instance: a Kafka consumer in the group, a NATS connection, a producer for
    dead letters. ``run`` until ``stop``; ``metrics`` counts ``consumed``, ``published``,
    ``duplicates`` (acknowledged as repeats), ``dead_lettered``, ``publish_retries``,
    ``pauses``, ``commits``, ``commit_failures``; ``end_to_end_ms`` is record timestamp →
    acknowledged."""

    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        nats_url: str,
        stop: StopSignal,
        *,
        group_id: str = GROUP_ID,
        batch_size: int = 500,
        publish_timeout_s: float = 2.0,
        max_backoff_s: float = 5.0,
        log_every_s: float = 30.0,
    ) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.nats_url = nats_url
        self.stop = stop
        self.group_id = group_id
        self.batch_size = batch_size
        self.publish_timeout_s = publish_timeout_s
        self.max_backoff_s = max_backoff_s
        self.log_every_s = log_every_s
        self.metrics = WorkerMetrics()
        expose("bridge", group_id, self.metrics)
        expose("lag", group_id, self)
        self.lag: dict[tuple[str, int], int] = {}  # read by the metrics endpoint
        self._delivery_failures = 0

    def run(self) -> WorkerMetrics:
        asyncio.run(self._run())
        return self.metrics

    async def _run(self) -> None:
        client = await connect_until_up(self.settings, self.nats_url, self.stop, name="bridge")
        if client is None:
            return
        js = nats_adapter.jetstream(client)
        consumer = kafka.consumer(
            self.settings, self.bootstrap, self.group_id, **CONSUMER_OVERRIDES
        )
        producer = kafka.producer(self.settings, self.bootstrap)
        try:
            await provision(self.settings, js)
            consumer.subscribe(
                list(commands.SUBJECT_FOR_TOPIC), on_assign=self._assigned, on_revoke=self._revoked
            )
            next_log = time.monotonic() + self.log_every_s
            next_lag = time.monotonic()
            while not self.stop.stopped:
                messages = await asyncio.to_thread(self._next_batch, consumer)
                if time.monotonic() >= next_lag:  # between batches: the consumer is idle
                    owned = [(tp.topic, tp.partition) for tp in consumer.assignment()]
                    self.lag = consumer_lag(consumer, owned)  # replaced whole
                    next_lag = time.monotonic() + LAG_EVERY_S
                if messages and not await self._forward(js, consumer, producer, messages):
                    break  # stopped while NATS was down: the batch is read again next time
                if time.monotonic() >= next_log:
                    log.info("bridge: %s", self._log_line())
                    next_log = time.monotonic() + self.log_every_s
        finally:
            consumer.close()
            producer.flush(10)
            await client.close()
            log.info("bridge stopped: %s", self._log_line())

    def _next_batch(self, consumer: Any) -> list[Message]:
        return next_batch(consumer, self.batch_size, self.metrics.counts)

    async def _forward(
        self, js: Any, consumer: Any, producer: Any, messages: list[Message]
    ) -> bool:
        """Publish the batch's commands until all are acknowledged, deliver its dead letters,
        commit; False if told to stop before that (nothing committed)."""
        started = time.monotonic()
        counts = self.metrics.counts
        now = clock_ms()
        pending: list[commands.Command] = []
        offsets: dict[tuple[str, int], int] = {}
        stamps: list[int] = []
        for m in messages:
            topic, partition, offset = m.topic() or "", m.partition() or 0, m.offset() or 0
            value = m.value()
            stamp = m.timestamp()[1]
            stamps.append(stamp)
            offsets[(topic, partition)] = offset + 1
            try:
                pending.append(bridge.command_for(topic, partition, offset, value, now))  # type: ignore[arg-type]
            except bridge.Rejected as rejected:
                letter = bridge.dead_letter(rejected, topic, partition, offset, stamp, value, now)  # type: ignore[arg-type]
                producer.produce(
                    DEADLETTER, deadletter.encode(letter), topic.encode(),
                    headers=[("reason", str(rejected.reason).encode())],
                    on_delivery=self._delivered,
                )  # fmt: skip
                counts["dead_lettered"] += 1
                counts[f"dead.{rejected.reason}"] += 1
        counts["consumed"] += len(messages)
        self.metrics.traffic.consumed((m.topic() or "" for m in messages), len(messages))
        if not await self._publish_all(js, consumer, pending):
            return False
        if producer.flush(30) or self._delivery_failures:
            raise RuntimeError("dead letters could not be delivered; nothing committed")
        acked = clock_ms()
        self.metrics.end_to_end_ms.observe_many(max(acked - s, 0) for s in stamps)
        try:
            committed = time.monotonic()
            consumer.commit(
                offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()],
                asynchronous=False,
            )
            self.metrics.commit_ms.observe((time.monotonic() - committed) * 1000)
            counts["commits"] += 1
        except KafkaException as exc:  # left the group meanwhile: the new owner repeats it
            counts["commit_failures"] += 1
            log.warning("bridge commit failed (the batch will be repeated, deduplicated): %s", exc)
        counts["batches"] += 1
        self.metrics.batch_ms.observe((time.monotonic() - started) * 1000)
        return True

    async def _publish_all(self, js: Any, consumer: Any, pending: list[commands.Command]) -> bool:
        counts = self.metrics.counts
        backoff = 0.1
        paused: list[TopicPartition] = []
        try:
            while pending:
                results = await asyncio.gather(
                    *(self._publish(js, c) for c in pending), return_exceptions=True
                )
                failed = []
                for command, result in zip(pending, results, strict=True):
                    if isinstance(result, BaseException):
                        failed.append(command)
                    else:
                        counts["duplicates" if result else "published"] += 1
                if not failed:
                    return True
                counts["publish_retries"] += len(failed)
                if not paused:
                    paused = consumer.assignment()
                    consumer.pause(paused)
                    counts["pauses"] += 1
                    log.warning(
                        "NATS did not acknowledge %d command(s) (%s): input paused, retrying",
                        len(failed), next(r for r in results if isinstance(r, BaseException)),
                    )  # fmt: skip
                if await asyncio.to_thread(self.stop.wait, backoff):
                    return False
                backoff = min(backoff * 2, self.max_backoff_s)
                pending = failed
            return True
        finally:
            if paused:
                consumer.resume(paused)

    async def _publish(self, js: Any, command: commands.Command) -> bool:
        return await nats_adapter.publish_once(
            js, command.type, commands.encode(command), command.command_id,
            timeout=self.publish_timeout_s,
        )  # fmt: skip

    def _delivered(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self._delivery_failures += 1
            log.error("dead letter to %s failed: %s", message.topic(), error)

    def _assigned(self, _consumer: Any, partitions: list[TopicPartition]) -> None:
        self.metrics.counts["rebalances"] += 1
        self.metrics.traffic.rebalanced("assign", len(partitions))
        log.info("bridge assigned %s", [(tp.topic, tp.partition) for tp in partitions])

    def _revoked(self, _consumer: Any, partitions: list[TopicPartition]) -> None:
        self.metrics.traffic.rebalanced("revoke", len(partitions))
        log.info("bridge revoked %s", [(tp.topic, tp.partition) for tp in partitions])

    def _log_line(self) -> str:
        c, e2e = self.metrics.counts, self.metrics.end_to_end_ms
        return (
            f"consumed={c['consumed']} published={c['published']} duplicates={c['duplicates']} "
            f"dead_lettered={c['dead_lettered']} publish_retries={c['publish_retries']} "
            f"pauses={c['pauses']} commits={c['commits']} "
            f"e2e_p50={e2e.quantile(0.5):.1f}ms e2e_p99={e2e.quantile(0.99):.1f}ms"
        )


def run(
    settings: Settings, bootstrap: str, nats_url: str, stop: StopSignal, **options: Any
) -> WorkerMetrics:
    """The bridge as ``lucent worker bridge`` runs it, until ``stop``."""
    return Bridge(settings, bootstrap, nats_url, stop, **options).run()


def main(settings: Settings, endpoints: Endpoints) -> None:
    run(settings, endpoints.kafka_bootstrap_servers, endpoints.nats_url, StopSignal().install())
