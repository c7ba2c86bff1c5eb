"""How a batch's outputs and its input offsets become durable: at-least-once, pipelined.

At-least-once (the default): a batch's input offsets are committed only after every one of
its outputs is acknowledged (acks=all). A crash anywhere before the commit replays the batch,
so outputs may repeat but are never lost; consumers downstream de-duplicate by message id.

Waiting for the acknowledgements batch by batch would leave the worker idle for a broker
round trip per batch (measured: 12 ms of every 15 ms per 1,000-record batch on the local
broker). So batches are pipelined: the worker processes batch k+1 while batch k's outputs
are in flight, and commits batches strictly in order as their deliveries complete — an
offset is never committed while an earlier batch's outputs could still be lost. Exactly-once
is in ``transactions.py``.

Commits are asynchronous and at most one per ``commit_interval_s`` (0.1 s) while the worker
runs: a synchronous commit per batch held the loop for a group-coordinator round trip each
time, which on the local broker added ~25 ms to the median end-to-end latency at 5k msg/s
(``lucent bench processor``). Offsets stay pending until the broker confirms them (the
consumer's ``on_commit``); a revocation or a stop drains and commits synchronously, so
partitions never move on before their offsets are durable.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from streaming.runtime.metrics import WorkerMetrics
from streaming.runtime.output import DeliveryFailed, OutputSink, as_output
from streaming.runtime.records import Output

log = logging.getLogger(__name__)

Offsets = dict[tuple[str, int], int]
"""Next offset to read per (topic, partition): the last processed offset + 1."""


class Guarantee(Protocol):
    def start(self) -> None: ...

    def produce(self, outputs: Sequence[Output], offsets: Offsets, stamps: list[int]) -> None:
        """Hand a batch's outputs to the producer; ``stamps`` are its inputs' timestamps."""
        ...

    def commit(self) -> bool:
        """Make finished batches durable; False when the last batch must be redone."""
        ...

    def drain(self) -> None:
        """Wait for everything in flight and commit it (before a revocation or a stop)."""
        ...

    def after_inflight(self, outputs: Sequence[Output]) -> None:
        """Produce ``outputs`` once every batch produced so far is durable, without waiting
        for that here (window checkpoints: valid only after the outputs before them)."""
        ...

    def revoked(self, partitions: Iterable[tuple[str, int]], *, lost: bool) -> None: ...

    def committed(self, error: KafkaError | None, partitions: list[TopicPartition]) -> None:
        """The consumer's ``on_commit``: the broker answered an offset commit."""
        ...

    def abandon(self) -> None:
        """The worker is failing: commit nothing not yet known durable."""
        ...


def as_partitions(offsets: Offsets) -> list[TopicPartition]:
    return [TopicPartition(t, p, o) for (t, p), o in offsets.items()]


class _InFlight:
    """One batch whose outputs are not all acknowledged yet; the delivery callback of each."""

    __slots__ = ("done_at", "failed", "offsets", "remaining", "retries", "stamps", "then")

    def __init__(self, offsets: Offsets, stamps: list[int], outputs: int) -> None:
        self.offsets = offsets
        self.stamps = stamps
        self.remaining = outputs
        self.failed: list[Message] = []
        self.retries = 0
        self.done_at = time.time() if outputs == 0 else 0.0
        self.then: list[Output] = []  # produced once this batch (and so all before it) is done

    def __call__(self, error: KafkaError | None, message: Message) -> None:
        self.remaining -= 1
        if error is not None:
            self.failed.append(message)
            log.warning("delivery to %s failed: %s", message.topic(), error)
        elif self.remaining == 0:
            self.done_at = time.time()


class AtLeastOnce:
    """Produce now, commit each batch's offsets once all its outputs are acknowledged."""

    def __init__(
        self,
        consumer: Consumer,
        sink: OutputSink,
        metrics: WorkerMetrics,
        commit_interval_s: float = 0.1,
    ) -> None:
        self.consumer = consumer
        self.sink = sink
        self.producer = sink.producer
        self.metrics = metrics
        self.commit_interval_s = commit_interval_s
        self.inflight: deque[_InFlight] = deque()
        self.pending: Offsets = {}  # durable, commit not yet confirmed
        self._next_commit = 0.0

    def start(self) -> None:
        pass

    def produce(self, outputs: Sequence[Output], offsets: Offsets, stamps: list[int]) -> None:
        batch = _InFlight(offsets, stamps, len(outputs))
        self.inflight.append(batch)
        self.sink.send(outputs, on_delivery=batch)

    def commit(self) -> bool:
        self.producer.poll(0)  # serve delivery reports
        self._retire(wait=False)
        self._commit_async()
        return True

    def drain(self) -> None:
        self._retire(wait=True)
        self._commit_sync()

    def after_inflight(self, outputs: Sequence[Output]) -> None:
        if not outputs:
            return
        if self.inflight:
            self.inflight[-1].then.extend(outputs)
        else:
            self.produce(outputs, {}, [])

    def committed(self, error: KafkaError | None, partitions: list[TopicPartition]) -> None:
        if error is not None:
            self._failed({(tp.topic, tp.partition): tp.offset for tp in partitions}, error)
            return
        for tp in partitions:
            key = (tp.topic, tp.partition)
            if tp.error is not None:
                self._failed({key: tp.offset}, tp.error)
            elif key in self.pending and self.pending[key] <= tp.offset:
                del self.pending[key]

    def revoked(self, partitions: Iterable[tuple[str, int]], *, lost: bool) -> None:
        """Commit everything for partitions we hand over; forget what a lost one needed."""
        gone = set(partitions)
        if lost:
            for batch in self.inflight:
                batch.offsets = {tp: o for tp, o in batch.offsets.items() if tp not in gone}
        else:
            self.drain()
        for tp in gone:
            self.pending.pop(tp, None)

    def abandon(self) -> None:
        self.inflight.clear()

    def _retire(self, *, wait: bool) -> None:
        """Pop finished batches in order (retrying failed deliveries); their offsets become
        pending."""
        while self.inflight:
            head = self.inflight[0]
            if head.remaining > 0:
                if not wait:
                    break
                self.producer.poll(0.05)
                continue
            if head.failed:
                self._retry(head)
                continue
            self.inflight.popleft()
            self.pending.update(head.offsets)
            if head.then:
                self.produce(head.then, {}, [])
            self.metrics.counts["batches"] += 1
            self.metrics.end_to_end_ms.observe_many(head.done_at * 1000.0 - s for s in head.stamps)

    def _retry(self, batch: _InFlight) -> None:
        # Idempotent producers already retry internally; this is after message.timeout.ms.
        # A repeat may land after later outputs; consumers de-duplicate by message id.
        failed, batch.failed = batch.failed, []
        if batch.retries >= self.sink.delivery_retries:
            raise DeliveryFailed(
                f"{len(failed)} outputs undelivered after {batch.retries} retries "
                f"(first to {failed[0].topic()}: {failed[0].error()})"
            )
        batch.retries += 1
        batch.remaining += len(failed)
        self.metrics.counts["delivery_retries"] += len(failed)
        self.sink.send([as_output(m) for m in failed], on_delivery=batch)

    def _commit_async(self) -> None:
        """Send the pending offsets, at most once per ``commit_interval_s``; ``committed``
        clears them when the broker confirms (until then they are sent again)."""
        now = time.monotonic()
        if not self.pending or now < self._next_commit:
            return
        self._next_commit = now + self.commit_interval_s
        try:
            self.consumer.commit(offsets=as_partitions(self.pending), asynchronous=True)
        except KafkaException as exc:
            self._failed(dict(self.pending), exc.args[0])
            return
        self.metrics.counts["commits"] += 1

    def _commit_sync(self) -> None:
        offsets = dict(self.pending)
        if not offsets:
            return
        started = time.monotonic()
        try:
            answered = self.consumer.commit(offsets=as_partitions(offsets), asynchronous=False)
        except KafkaException as exc:
            self._failed(offsets, exc.args[0])
            return
        errors = [tp for tp in answered or () if tp.error is not None]
        if errors:
            self._failed({(tp.topic, tp.partition): tp.offset for tp in errors}, errors[0].error)
        self.metrics.counts["commits"] += 1
        self.metrics.commit_ms.observe((time.monotonic() - started) * 1000.0)
        for tp in offsets.keys() - {(e.topic, e.partition) for e in errors}:
            if self.pending.get(tp) == offsets[tp]:
                del self.pending[tp]

    def _failed(self, offsets: Offsets, error: object) -> None:
        # Outputs are already durable: a lost commit only means they may be repeated; the
        # offsets stay pending and go with the next commit.
        self.metrics.counts["commit_failures"] += 1
        log.warning("offset commit of %d partitions failed: %s", len(offsets), error)
