"""Exactly-once: each batch's outputs and its input offsets in one Kafka transaction.

``send_offsets_to_transaction`` puts the consumed offsets into the transaction, so readers
with ``isolation.level=read_committed`` see a batch's outputs once, and only if its offsets
moved too. A failed transaction is aborted and the worker rewinds its input to the batch's
start, so the batch is processed again. One transaction is open at a time (a producer allows
no more), so batches are not pipelined as in at-least-once mode.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from streaming.runtime.guarantees import Offsets, as_partitions
from streaming.runtime.metrics import WorkerMetrics
from streaming.runtime.output import OutputSink
from streaming.runtime.records import Output

log = logging.getLogger(__name__)


def transactional_config(transactional_id: str) -> dict[str, Any]:
    """Producer settings: the id, and reports of failed deliveries only — the transaction's
    commit is what tells the worker its outputs are durable, so the hot path makes no
    Python call per delivered message."""
    return {
        "transactional.id": transactional_id,
        "delivery.report.only.error": True,
        "on_delivery": _log_failure,
    }


def _log_failure(error: KafkaError | None, message: Message) -> None:
    if error is not None:
        log.warning("delivery to %s failed (its transaction will abort): %s",
                    message.topic(), error)  # fmt: skip


class ExactlyOnce:
    """One transaction per batch; the offsets ride in it."""

    def __init__(
        self,
        consumer: Consumer,
        sink: OutputSink,
        metrics: WorkerMetrics,
        *,
        timeout_s: float = 30.0,
    ) -> None:
        self.consumer = consumer
        self.producer: Producer = sink.producer
        self.sink = sink
        self.metrics = metrics
        self.timeout_s = timeout_s
        self._open = False
        self._broken: KafkaException | None = None
        self._offsets: Offsets = {}
        self._stamps: list[int] = []

    def start(self) -> None:
        """Register the transactional id; fences an older incarnation and aborts its open
        transaction, so a restart after a crash never waits for the transaction timeout."""
        self.producer.init_transactions(self.timeout_s)

    def produce(self, outputs: Sequence[Output], offsets: Offsets, stamps: list[int]) -> None:
        self._broken = None
        self._offsets, self._stamps = offsets, stamps
        self.producer.begin_transaction()
        self._open = True
        try:
            self.sink.send(outputs)
        except KafkaException as exc:  # e.g. the transaction turned abortable mid-batch
            self._broken = exc

    def commit(self) -> bool:
        if not self._open:
            return True
        started = time.monotonic()
        try:
            if self._broken is not None:
                raise self._broken
            if self._offsets:
                self.producer.send_offsets_to_transaction(
                    as_partitions(self._offsets),
                    self.consumer.consumer_group_metadata(),
                    self.timeout_s,
                )
            self._commit_transaction()
        except KafkaException as exc:
            error = exc.args[0]
            if not isinstance(error, KafkaError) or not error.txn_requires_abort():
                raise  # fatal (e.g. fenced by a newer instance): stop the worker
            self._abort(error)
            return False
        now = time.monotonic()
        self.metrics.counts["commits"] += 1
        self.metrics.counts["batches"] += 1
        self.metrics.commit_ms.observe((now - started) * 1000.0)
        now_ms = time.time() * 1000.0
        self.metrics.end_to_end_ms.observe_many(now_ms - s for s in self._stamps)
        return True

    def _commit_transaction(self) -> None:
        while True:
            try:
                self.producer.commit_transaction(self.timeout_s)
                self._open = False
                return
            except KafkaException as exc:
                error = exc.args[0]
                if isinstance(error, KafkaError) and error.retriable():
                    log.warning("transaction commit will be retried: %s", error)
                    continue
                raise

    def _abort(self, reason: object) -> None:
        log.warning("aborting the batch's transaction: %s", reason)
        self.metrics.counts["aborts"] += 1
        self.producer.abort_transaction(self.timeout_s)
        self._open = False

    def drain(self) -> None:
        pass  # every batch's transaction is finished before the next poll

    def after_inflight(self, outputs: Sequence[Output]) -> None:
        """Exactly-once batches are durable once committed: a transaction of their own."""
        if outputs:
            self.produce(outputs, {}, [])
            self.commit()

    def revoked(self, partitions: Iterable[tuple[str, int]], *, lost: bool) -> None:
        # Batches end with their transaction, before the consumer is polled again, so none
        # is open when partitions go; one still open here is aborted, never committed.
        if self._open:
            self._abort("partitions revoked with a transaction open")

    def committed(self, error: KafkaError | None, partitions: list[TopicPartition]) -> None:
        pass  # offsets go with the transaction, not through the consumer

    def abandon(self) -> None:
        if self._open:
            self._abort("the worker is stopping on an error")
