"""How a batch's outputs and its input offsets become durable together: the two guarantees.

At-least-once (the default): produce, wait until every output is acknowledged, then commit
the input offsets synchronously. A crash anywhere before the commit replays the batch, so
outputs may repeat but are never lost; consumers downstream de-duplicate by message id.

Exactly-once: the outputs and the input offsets go into one Kafka transaction
(``send_offsets_to_transaction``); readers with ``isolation.level=read_committed`` see a
batch's outputs once and only if its offsets moved too. A failed transaction is aborted and
the worker rewinds its input to the batch's start, so the batch is processed again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from streaming.runtime.metrics import WorkerMetrics
from streaming.runtime.output import OutputSink
from streaming.runtime.records import Output

log = logging.getLogger(__name__)

Offsets = dict[tuple[str, int], int]
"""Next offset to read per (topic, partition): the last processed offset + 1."""


class Guarantee(Protocol):
    def start(self) -> None: ...

    def produce(self, outputs: Sequence[Output]) -> None: ...

    def commit(self, offsets: Offsets) -> bool:
        """True when outputs and offsets are durable; False when the batch must be redone."""
        ...

    def revoked(self, partitions: Iterable[tuple[str, int]], *, lost: bool) -> None: ...


def _partitions(offsets: Offsets) -> list[TopicPartition]:
    return [TopicPartition(t, p, o) for (t, p), o in offsets.items()]


class AtLeastOnce:
    """Flush, then commit; a commit that fails is retried with the next batch's offsets."""

    def __init__(self, consumer: Consumer, sink: OutputSink, metrics: WorkerMetrics) -> None:
        self.consumer = consumer
        self.sink = sink
        self.metrics = metrics
        self.pending: Offsets = {}  # flushed but not yet committed

    def start(self) -> None:
        pass

    def produce(self, outputs: Sequence[Output]) -> None:
        self.sink.send(outputs)

    def commit(self, offsets: Offsets) -> bool:
        self.sink.flush()  # raises DeliveryFailed: then nothing is committed
        self.pending.update(offsets)
        self._commit_pending()
        return True

    def revoked(self, partitions: Iterable[tuple[str, int]], *, lost: bool) -> None:
        """Commit what was flushed for partitions we are handing over (unless already lost)."""
        gone = set(partitions)
        if not lost:
            self._commit_pending(only=gone)
        for tp in gone:
            self.pending.pop(tp, None)

    def _commit_pending(self, only: set[tuple[str, int]] | None = None) -> None:
        offsets = {tp: o for tp, o in self.pending.items() if only is None or tp in only}
        if not offsets:
            return
        try:
            answered = self.consumer.commit(offsets=_partitions(offsets), asynchronous=False)
        except KafkaException as exc:
            self._failed(offsets, exc.args[0])
            return
        errors = [tp for tp in answered or () if tp.error is not None]
        if errors:
            self._failed({(tp.topic, tp.partition): tp.offset for tp in errors}, errors[0].error)
        self.metrics.counts["commits"] += 1
        for tp in offsets.keys() - {(e.topic, e.partition) for e in errors}:
            if self.pending.get(tp) == offsets[tp]:
                del self.pending[tp]

    def _failed(self, offsets: Offsets, error: KafkaError | object) -> None:
        # Outputs are already durable: a lost commit only means they may be repeated.
        self.metrics.counts["commit_failures"] += 1
        log.warning("offset commit of %d partitions failed: %s", len(offsets), error)


class ExactlyOnce:
    """One transaction per batch; the offsets ride in it."""

    def __init__(
        self,
        consumer: Consumer,
        producer: Producer,
        sink: OutputSink,
        metrics: WorkerMetrics,
        *,
        timeout_s: float = 30.0,
    ) -> None:
        self.consumer = consumer
        self.producer = producer
        self.sink = sink
        self.metrics = metrics
        self.timeout_s = timeout_s
        self._open = False
        self._broken: KafkaException | None = None

    def start(self) -> None:
        """Register the transactional id; fences an older incarnation and aborts its open
        transaction, so a restart after a crash never waits for the transaction timeout."""
        self.producer.init_transactions(self.timeout_s)

    def produce(self, outputs: Sequence[Output]) -> None:
        self.sink.failed.clear()
        self._broken = None
        self.producer.begin_transaction()
        self._open = True
        try:
            self.sink.send(outputs)
        except KafkaException as exc:  # e.g. the transaction turned abortable mid-batch
            self._broken = exc

    def commit(self, offsets: Offsets) -> bool:
        try:
            if self._broken is not None:
                raise self._broken
            if offsets:
                self.producer.send_offsets_to_transaction(
                    _partitions(offsets), self.consumer.consumer_group_metadata(), self.timeout_s
                )
            self._commit_transaction()
        except KafkaException as exc:
            error = exc.args[0]
            if not isinstance(error, KafkaError) or not error.txn_requires_abort():
                raise  # fatal (e.g. fenced by a newer instance): stop the worker
            self.abort(error)
            return False
        self.metrics.counts["commits"] += 1
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

    def abort(self, reason: object) -> None:
        log.warning("aborting the batch's transaction: %s", reason)
        self.metrics.counts["aborts"] += 1
        self.producer.abort_transaction(self.timeout_s)
        self.sink.failed.clear()
        self._open = False

    def revoked(self, partitions: Iterable[tuple[str, int]], *, lost: bool) -> None:
        # Batches end with their transaction, before the consumer is polled again, so no
        # transaction is open when partitions go; one still open here would be a bug.
        if self._open:
            self.abort("partitions revoked with a transaction open")
