"""The micro-batch loop: consume a batch, process it, produce, commit (DESIGN.md decision 4).

One thread, one consumer, one producer. Rebalance callbacks only run inside
``consumer.poll``/``consume``/``close``, which the loop calls only between batches; a
revocation first waits for every batch still in flight and commits it (at-least-once), or
finds the last transaction already committed (exactly-once), before partitions move on.
A bounded run (``until``) reads each partition up to an end offset and then stops by itself.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings
from lucent_platform.topics import CHECKPOINTS
from streaming.exposed import expose
from streaming.lifecycle import StopSignal
from streaming.runtime.bounds import Bounds
from streaming.runtime.checkpoints import Checkpoints, reader_factory
from streaming.runtime.consume import consumer_error
from streaming.runtime.guarantees import AtLeastOnce, Guarantee, Offsets
from streaming.runtime.lag import LAG_EVERY_S, consumer_lag
from streaming.runtime.metrics import WorkerMetrics
from streaming.runtime.output import OutputSink
from streaming.runtime.records import InRecord, Output, Processor, Stateful
from streaming.runtime.tables import Joined, TableFollower, table_reader
from streaming.runtime.transactions import ExactlyOnce, transactional_config

log = logging.getLogger(__name__)

Partition = tuple[str, int]
_TOPIC = attrgetter("topic")


def tune_gc_for_streaming() -> None:
    """For a worker process, once its setup is done: move everything allocated so far out of
    the collector's sight (``gc.freeze``) and collect the youngest generation every 100k
    allocations instead of 700. The hot path allocates mostly acyclic objects (msgspec structs
    are untracked), so the default thresholds spent ~3 % of the processor's CPU collecting
    nothing; this gave it 4–5 % more msg/s (``lucent bench processor``)."""
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)


def run_worker(
    settings: Settings,
    bootstrap: str,
    *,
    group_id: str,
    subscribe: Sequence[str],
    processor: Processor,
    stop: StopSignal,
    exactly_once: bool = False,
    instance_id: str = "0",
    batch_size: int = 1000,
    batch_timeout_s: float = 0.0,
    idle_timeout_s: float = 0.1,
    idle_tick_s: float | None = 1.0,
    max_outstanding: int = 50_000,
    pause_after_s: float = 0.5,
    on_batch: Callable[[WorkerMetrics], None] | None = None,
    log_every_s: float = 30.0,
    consumer_config: Mapping[str, Any] | None = None,
    producer_config: Mapping[str, Any] | None = None,
    until: Mapping[Partition, int] | None = None,
    checkpoint_topic: str = CHECKPOINTS,
    checkpoint_every_s: float = 1.0,
) -> WorkerMetrics:
    """Run ``processor`` over ``subscribe`` (topic names, or regexes starting with ``^``)
    until ``stop`` is set; finish the batch in hand, commit, close, return the metrics.

    Batching: ``poll`` waits up to ``idle_timeout_s`` for the first record and returns as soon
    as one arrives; ``consume(batch_size - 1, batch_timeout_s)`` then takes what is already
    fetched. With the default ``batch_timeout_s=0`` a quiet input adds no waiting to a record's
    latency (``consume(n, t)`` alone would hold every record up to ``t`` at low rates), and a
    busy one still gets full batches. ``idle_tick_s``: after that long without input the
    processor gets an empty batch, so wall-clock window closing still happens.

    Backpressure: more than ``max_outstanding`` unacknowledged outputs (or librdkafka's queue
    full) makes the loop wait for the producer, pausing its input when the wait exceeds
    ``pause_after_s``. ``consumer_config``/``producer_config`` override the settings' client
    configs (e.g. ``auto.offset.reset``, ``topic.metadata.refresh.interval.ms``, which bounds
    how soon a regex subscription sees a new topic).

    ``exactly_once`` makes the producer transactional with ``transactional.id`` =
    ``{group_id}-{instance_id}``: ``instance_id`` must be stable across restarts of one
    instance (so a restart fences its predecessor and ends its open transaction) and distinct
    between instances. On Tansu 0.6 aborted transactions stay visible to read_committed
    readers (tests/test_runtime_crash.py), so there a crash mid-transaction repeats outputs.

    ``until`` (topic, partition) → end offset makes a bounded run, as ``lucent reprocess
    --until`` does: each such partition is read from the group's committed offset up to, not
    including, its end; records at or past it are dropped unprocessed and never committed;
    a partition that got there is paused, and once all have (or ``stop`` is set) the run
    drains and returns, its commits ending exactly at the ends. A partition whose committed
    offset is already at its end has nothing to do. Partitions without an end (say, a topic
    matching the regex that appeared since) are paused and not read at all.

    A ``Stateful`` processor (window state, ``records.Stateful``) gets its state rebuilt on
    every assignment from checkpoints on ``checkpoint_topic``, written at most every
    ``checkpoint_every_s`` and on revocation and stop (``checkpoints.py``); other processors
    get no checkpoints.

    A ``Joined`` processor (``tables.py``) gets its tables read from their compacted topics
    before any input, and followed at every loop iteration.
    """
    metrics = WorkerMetrics()
    bounds = None if until is None else Bounds(until, subscribe)
    worker = _Worker(settings, bootstrap, group_id, processor, metrics, exactly_once,
                     instance_id, max_outstanding, pause_after_s, consumer_config or {},
                     producer_config or {}, bounds)  # fmt: skip
    expose("stage", group_id, metrics)
    expose("lag", group_id, worker)
    if isinstance(processor, Stateful):
        worker.state = Checkpoints(
            processor, checkpoint_topic, group_id, metrics,
            reader_factory(settings, bootstrap, group_id),
            every_s=checkpoint_every_s, exactly_once=exactly_once,
        )  # fmt: skip
    if isinstance(processor, Joined):
        worker.tables = TableFollower(
            processor.tables(), metrics, table_reader(settings, bootstrap, group_id)
        )
    return worker.run(
        subscribe, stop, batch_size, batch_timeout_s, idle_timeout_s, idle_tick_s,
        on_batch, log_every_s,
    )  # fmt: skip


class _Worker:
    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        group_id: str,
        processor: Processor,
        metrics: WorkerMetrics,
        exactly_once: bool,
        instance_id: str,
        max_outstanding: int,
        pause_after_s: float,
        consumer_config: Mapping[str, Any],
        producer_config: Mapping[str, Any],
        bounds: Bounds | None = None,
    ) -> None:
        self.processor = processor
        self.bounds = bounds
        self.state: Checkpoints | None = None  # window state to checkpoint and rebuild
        self.tables: TableFollower | None = None  # tables joined, loaded before any input
        self.exactly_once = exactly_once
        self.held: set[Partition] = set()  # paused by the bounds, not by backpressure
        self.lag: dict[Partition, int] = {}  # read by the metrics endpoint (streaming.exposed)
        self.metrics = metrics
        self.group_id = group_id
        self.assignment: set[Partition] = set()
        self.generation = 0  # bumped by every assignment change
        self.consumer: Consumer = kafka.consumer(
            settings, bootstrap, group_id, on_commit=self._on_commit, **consumer_config
        )
        overrides: dict[str, Any] = {**producer_config}
        if exactly_once:
            overrides.update(transactional_config(f"{group_id}-{instance_id}"))
        self.producer = kafka.producer(settings, bootstrap, **overrides)
        self.sink = OutputSink(
            self.producer,
            metrics,
            pause=self._pause,
            resume=self._resume,
            max_outstanding=max_outstanding,
            pause_after_s=pause_after_s,
        )
        self.guarantee: Guarantee = (
            ExactlyOnce(self.consumer, self.sink, metrics)
            if exactly_once
            else AtLeastOnce(self.consumer, self.sink, metrics)
        )

    # --- the loop ------------------------------------------------------------------------
    def run(
        self,
        subscribe: Sequence[str],
        stop: StopSignal,
        batch_size: int,
        batch_timeout_s: float,
        idle_timeout_s: float,
        idle_tick_s: float | None,
        on_batch: Callable[[WorkerMetrics], None] | None,
        log_every_s: float,
    ) -> WorkerMetrics:
        metrics = self.metrics
        clean = False
        try:
            self.guarantee.start()
            if self.tables is not None:
                self.tables.load()  # before the subscription: a rebuild's replay joins them
            self.consumer.subscribe(
                list(subscribe), on_assign=self._on_assign, on_revoke=self._on_revoke,
                on_lost=self._on_lost,
            )  # fmt: skip
            log.info("worker %s subscribed to %s", self.group_id, list(subscribe))
            next_log = next_lag = last_input = time.monotonic()
            while not stop.stopped and not (self.bounds and self.bounds.finished):
                messages = self._next_batch(batch_size, batch_timeout_s, idle_timeout_s)
                if self.tables is not None:
                    self.tables.poll()  # table changes apply before the batch that follows them
                reached: list[Partition] = []
                if self.bounds is not None:
                    messages, reached = self._within_bounds(self.bounds, messages)
                now = time.monotonic()
                if messages:
                    self._run_batch(messages)
                    last_input = now
                    if on_batch is not None:
                        on_batch(metrics)
                else:
                    self.guarantee.commit()  # batches whose deliveries completed meanwhile
                    if idle_tick_s is not None and now - last_input >= idle_tick_s:
                        self._run_batch([])
                        last_input = now
                if reached and self.bounds is not None:
                    self._commit_bounds(self.bounds, reached)
                if self.state is not None and not self.exactly_once and self.state.due():
                    # Not a drain: the loop keeps going while the batches before it finish.
                    self.guarantee.after_inflight(self.state.outputs(self.assignment))
                if now >= next_lag:
                    self.lag = consumer_lag(self.consumer, self.assignment)  # replaced whole
                    next_lag = now + LAG_EVERY_S
                if now >= next_log:
                    log.info("worker %s: %s", self.group_id, metrics.log_line())
                    next_log = now + log_every_s
            self.guarantee.drain()
            self._checkpoint(self.assignment)
            clean = True
        finally:
            self._close(clean)
        return metrics

    def _next_batch(self, size: int, fill_timeout: float, idle_timeout: float) -> list[Message]:
        first = self.consumer.poll(idle_timeout)
        if first is None:
            return []
        generation = self.generation
        rest = self.consumer.consume(size - 1, fill_timeout) if size > 1 else []
        messages = [first, *rest]
        good = [m for m in messages if m.error() is None]
        if len(good) != len(messages):
            for m in messages:
                error = m.error()
                if error is not None and error.code() != KafkaError._PARTITION_EOF:
                    consumer_error(error, self.metrics.counts)
        if self.generation != generation:
            return self._reread(good)
        return good

    # --- bounded runs --------------------------------------------------------------------
    def _within_bounds(
        self, bounds: Bounds, messages: list[Message]
    ) -> tuple[list[Message], list[Partition]]:
        """The batch's records below their bounds, and the partitions it finishes (paused at
        once, their bounds committed after the batch)."""
        self._hold(bounds.newly_idle())
        if bounds.unresolved:
            # Between batches, not in the assignment callback: one broker round trip for
            # everything a rebalance gained.
            asked = [TopicPartition(t, p) for t, p in bounds.unresolved]
            answer = self.consumer.committed(asked, timeout=10)
            starts = {(tp.topic, tp.partition): tp.offset if tp.offset >= 0 else None
                      for tp in answer}  # fmt: skip
            self._hold(bounds.resolve(starts))
            self._release([tp for tp in starts if tp not in bounds.done])
        kept, reached = bounds.admit(messages)
        if not messages:
            running = bounds.running(self.assignment)
            if running:
                positions = self.consumer.position([TopicPartition(t, p) for t, p in running])
                reached = bounds.moved({(tp.topic, tp.partition): tp.offset for tp in positions})
        self._hold(reached)
        return kept, reached

    def _commit_bounds(self, bounds: Bounds, reached: list[Partition]) -> None:
        """Commit the bounds themselves, after the batch that reached them: where the last
        records before a bound are transaction markers, no batch commits up to it."""
        finished = [tp for tp in reached if tp in bounds.done]  # not undone by an abort
        if not finished:
            return
        self.guarantee.produce([], {tp: bounds.until[tp] for tp in finished}, [])
        if not self.guarantee.commit():  # its transaction aborted: find where they stand
            bounds.revoked(finished)
            bounds.assigned(finished)

    def _hold(self, partitions: list[Partition]) -> None:
        held = [tp for tp in partitions if tp in self.assignment]
        if held:
            self.consumer.pause([TopicPartition(t, p) for t, p in held])
            self.held.update(held)

    def _release(self, partitions: list[Partition]) -> None:
        """Resume partitions the bounds paused that have work again (after an abort, or a
        commit lost with a partition): resuming costs a fetch round, so only those."""
        again = [tp for tp in partitions if tp in self.held and tp in self.assignment]
        if again:
            self.consumer.resume([TopicPartition(t, p) for t, p in again])
            self.held.difference_update(again)

    def _reread(self, messages: list[Message]) -> list[Message]:
        """A rebalance was served inside ``consume``: some records may predate it (from a
        partition since revoked, or fetched again from its committed offset). Processing
        none of them and seeking the partitions still held back to the first of them
        neither skips a record nor processes one twice."""
        self.metrics.counts["rebalance_rereads"] += 1
        firsts: dict[Partition, int] = {}
        for m in messages:
            firsts.setdefault((m.topic() or "", m.partition() or 0), m.offset() or 0)
        for (topic, partition), offset in firsts.items():
            if (topic, partition) in self.assignment:
                try:
                    self.consumer.seek(TopicPartition(topic, partition, offset))
                except KafkaException as exc:  # not fetching yet: it starts from the commit
                    log.debug("no seek on %s[%d]: %s", topic, partition, exc)
        return []

    def _run_batch(self, messages: list[Message]) -> None:
        started = time.monotonic()
        metrics = self.metrics
        records: list[InRecord] = []
        offsets: Offsets = {}
        starts: Offsets = {}
        stamps: list[int] = []
        for m in messages:
            topic, partition, offset = m.topic() or "", m.partition() or 0, m.offset() or 0
            stamp = m.timestamp()[1]
            # Without deserializers librdkafka hands out bytes; the stubs also allow str.
            key, value = m.key(), m.value()
            records.append(InRecord(topic, partition, offset, stamp, key, value))  # type: ignore[arg-type]
            stamps.append(stamp)
            offsets[(topic, partition)] = offset + 1
            starts.setdefault((topic, partition), offset)
        result = self.processor.process(records)
        metrics.counts["consumed"] += len(records)
        metrics.traffic.consumed(map(_TOPIC, records), len(records))
        metrics.counts.update(result.counts)
        outputs: Sequence[Output] = result.outputs
        if self.state is not None:
            self.state.processed(offsets)
            if self.exactly_once and offsets and self.state.due():
                outputs = [*outputs, *self.state.outputs(self.assignment)]
        if not outputs and not offsets:
            return
        self.guarantee.produce(outputs, offsets, stamps)
        metrics.batch_ms.observe((time.monotonic() - started) * 1000.0)
        if not self.guarantee.commit():
            metrics.counts["rewound"] += len(records)
            self._rewind(starts)

    def _rewind(self, starts: Offsets) -> None:
        """After an aborted transaction: read the batch again, with its partitions' state
        rebuilt as on a fresh assignment (the aborted batch may have changed that state)."""
        held = [tp for tp in starts if tp in self.assignment]
        self.processor.revoked(held)
        for topic, partition in held:
            self.consumer.seek(TopicPartition(topic, partition, starts[(topic, partition)]))
        self.processor.assigned(held)
        if self.state is not None:  # exactly-once: the replay stops at the committed offset
            self.state.rebuild(held, {tp: starts[tp] for tp in held})
        if self.bounds is not None:  # where they stand is the committed offset again
            self.bounds.revoked(held)
            self.bounds.assigned(held)

    # --- rebalances and backpressure -----------------------------------------------------
    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        gained = [(tp.topic, tp.partition) for tp in partitions]
        self.metrics.counts["rebalances"] += 1
        self.metrics.traffic.rebalanced("assign", len(gained))
        self.generation += 1
        self.assignment.update(gained)
        log.info("worker %s assigned %s", self.group_id, gained)
        self.processor.assigned(gained)
        if self.bounds is not None:
            self.bounds.assigned(gained)
        if self.state is not None:
            self._rebuild(partitions)

    def _rebuild(self, partitions: list[TopicPartition]) -> None:
        """Rebuild the gained partitions' state, then assign them where live processing
        resumes (an eager assignment's start offsets can only be set here, by ``assign``)."""
        assert self.state is not None
        gained = [(tp.topic, tp.partition) for tp in partitions]
        answer = self.consumer.committed(partitions, timeout=10)
        committed = {(tp.topic, tp.partition): tp.offset if tp.offset >= 0 else None
                     for tp in answer}  # fmt: skip
        resume = self.state.rebuild(gained, committed)
        for tp in partitions:
            tp.offset = resume.get((tp.topic, tp.partition), tp.offset)
        self.consumer.assign(partitions)

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._lose(partitions, lost=False)

    def _on_lost(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._lose(partitions, lost=True)

    def _lose(self, partitions: list[TopicPartition], *, lost: bool) -> None:
        gone = [(tp.topic, tp.partition) for tp in partitions]
        log.info("worker %s %s %s", self.group_id, "lost" if lost else "revoked", gone)
        self.metrics.traffic.rebalanced("lost" if lost else "revoke", len(gone))
        self.guarantee.revoked(gone, lost=lost)
        if self.state is not None:
            if not lost:
                self._checkpoint(gone)  # the next owner restarts from the state just drained
            self.state.forget(gone)
        self.generation += 1
        self.assignment.difference_update(gone)
        self.processor.revoked(gone)
        if self.bounds is not None:
            self.bounds.revoked(gone)

    def _checkpoint(self, partitions: Iterable[Partition]) -> None:
        """Write the checkpoints of ``partitions``' current state before they move or the
        worker stops. At-least-once: after a drain, so every output before them is durable
        (the rule in ``checkpoints.py``), and drained again so they are on the broker before
        partitions move. Exactly-once: in a transaction of their own. (The periodic
        checkpoints while running use ``after_inflight`` instead: no drain.)"""
        if self.state is None:
            return
        if not self.exactly_once:
            self.guarantee.drain()
        outputs = self.state.outputs(partitions)
        if not outputs:
            return
        self.guarantee.produce(outputs, {}, [])
        self.guarantee.commit()
        if not self.exactly_once:
            self.guarantee.drain()

    def _on_commit(self, error: KafkaError | None, partitions: list[TopicPartition]) -> None:
        self.guarantee.committed(error, partitions)

    def _pause(self) -> None:
        self.consumer.pause([TopicPartition(t, p) for t, p in self.assignment])

    def _resume(self) -> None:
        self.consumer.resume([TopicPartition(t, p) for t, p in self.assignment - self.held])

    def _close(self, clean: bool) -> None:
        """Leave the group (revoking, hence committing) and deliver anything still queued.

        After an error nothing more is committed: what is in flight is replayed on restart.
        """
        if not clean:
            self.guarantee.abandon()
        if self.tables is not None:
            self.tables.close()
        try:
            self.consumer.close()
        finally:
            remaining = self.producer.flush(30.0)
            if remaining:
                log.error("worker %s closed with %d outputs undelivered", self.group_id, remaining)
            log.info("worker %s stopped: %s", self.group_id, self.metrics.log_line())
