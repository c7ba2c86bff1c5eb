"""The sink's loop: consume, buffer per partition, record the cut, insert, then commit.

One thread, one consumer, one clickhouse-connect client. Rebalance callbacks run only inside
``consume``/``close``; a revocation flushes and commits what the revoked partitions hold (one
attempt: if ClickHouse is down it is left to the next owner, which the ledger makes safe).
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from clickhouse_connect.driver.exceptions import ClickHouseError
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from lucent_platform.adapters import kafka
from lucent_platform.adapters.clickhouse import connect, credentials
from lucent_platform.analytics.insert import delete_retracted, insert_rows
from lucent_platform.analytics.migrate import migrate
from lucent_platform.analytics.rows import TABLE_FOR_TOPIC
from lucent_platform.config import Settings
from lucent_platform.redaction import redact_urls
from streaming.exposed import expose
from streaming.lifecycle import StopSignal
from streaming.runtime.lag import LAG_EVERY_S, consumer_lag
from streaming.sink import ledger
from streaming.sink.batches import Batch, Partition, PartitionBuffer
from streaming.sink.mapping import Malformed, malformed_row, retraction_checks, rows_of
from streaming.sink.metrics import SinkMetrics

if TYPE_CHECKING:
    from lucent_platform.adapters.clickhouse import Client

log = logging.getLogger(__name__)

GROUP_ID = "lucent-clickhouse-sink"
CONSUMER_OVERRIDES = {"auto.offset.reset": "earliest"}  # a new sink stores what Kafka still has
UNAVAILABLE = (ClickHouseError, OSError)
"""What a ClickHouse call raises when the server is down, slow or refuses: retried."""


@dataclass(frozen=True)
class SinkOptions:
    """Batching, memory and retry bounds (``LUCENT_SINK_*``; see ``from_settings``)."""

    batch_records: int = 5000
    batch_s: float = 1.0
    max_buffered: int = 100_000
    retry_first_s: float = 0.25
    retry_max_s: float = 30.0
    crash_after_inserts: int = 0
    commit_interval_s: float = 0.5
    fetch_max: int = 5000
    poll_s: float = 0.1
    log_every_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> SinkOptions:
        return cls(
            **{
                "batch_records": settings.sink_batch_rows,
                "batch_s": settings.sink_batch_ms / 1000.0,
                "max_buffered": settings.sink_max_buffered,
                "retry_max_s": settings.sink_retry_max_ms / 1000.0,
                "crash_after_inserts": settings.sink_crash_after_inserts,
                **overrides,
            }
        )


class Backoff:
    """Exponential back-off between attempts: ``first_s`` doubling up to ``max_s``."""

    def __init__(self, first_s: float, max_s: float) -> None:
        self.first_s, self.max_s = first_s, max_s
        self.failures = 0
        self.until = 0.0

    @property
    def failing(self) -> bool:
        return self.failures > 0

    def failed(self, now: float) -> float:
        self.failures += 1
        delay = min(self.max_s, self.first_s * 2 ** (self.failures - 1))
        self.until = now + delay
        return delay

    def ready(self, now: float) -> bool:
        return now >= self.until

    def succeeded(self) -> None:
        self.failures, self.until = 0, 0.0


def run(
    settings: Settings,
    bootstrap: str,
    clickhouse_url: str,
    stop: StopSignal,
    *,
    group_id: str = GROUP_ID,
    topics: Sequence[str] | None = None,
    options: SinkOptions | None = None,
    consumer_config: Mapping[str, Any] | None = None,
) -> SinkMetrics:
    """Store ``topics`` (default: every ``TABLE_FOR_TOPIC`` topic) into ClickHouse until
    ``stop``; then flush, commit, close and return the metrics."""
    sink = ClickHouseSink(
        settings, bootstrap, clickhouse_url, group_id=group_id,
        options=options or SinkOptions.from_settings(settings),
        consumer_config=consumer_config or {},
    )  # fmt: skip
    return sink.run(list(topics or TABLE_FOR_TOPIC), stop)


class ClickHouseSink:
    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        clickhouse_url: str,
        *,
        group_id: str,
        options: SinkOptions,
        consumer_config: Mapping[str, Any],
    ) -> None:
        self.settings = settings
        self.url = clickhouse_url
        self.database = settings.clickhouse_database
        self.group_id = group_id
        self.options = options
        self.metrics = SinkMetrics()
        expose("sink", group_id, self.metrics)
        expose("lag", group_id, self)
        self.consumer: Consumer = kafka.consumer(
            settings, bootstrap, group_id, on_commit=self._on_commit,
            **{**CONSUMER_OVERRIDES, **consumer_config},
        )  # fmt: skip
        self.client: Client | None = None
        self.prepared = False
        self.buffers: dict[Partition, PartitionBuffer] = {}
        self.pending: dict[Partition, int] = {}  # inserted; commit not confirmed yet
        self.paused: set[Partition] = set()
        self.backoff = Backoff(options.retry_first_s, options.retry_max_s)
        self.generation = 0  # bumped by every assignment change
        self.batches_inserted = 0
        self._next_commit = 0.0
        self._malformed_logged = 0
        self.lag: dict[Partition, int] = {}  # read by the metrics endpoint (streaming.exposed)

    # --- the loop ------------------------------------------------------------------------
    def run(self, topics: list[str], stop: StopSignal) -> SinkMetrics:
        clean = False
        try:
            if not self._prepare(stop):
                clean = True
                return self.metrics
            self.consumer.subscribe(
                topics, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
            )
            log.info("sink %s subscribed to %s → %s", self.group_id, topics, self.database)
            next_log = time.monotonic() + self.options.log_every_s
            next_lag = time.monotonic()
            while not stop.stopped:
                self._step()
                if time.monotonic() >= next_lag:
                    self.lag = consumer_lag(self.consumer, self.buffers)  # replaced whole
                    next_lag = time.monotonic() + LAG_EVERY_S
                if time.monotonic() >= next_log:
                    log.info("sink %s: %s", self.group_id, self.metrics.log_line())
                    next_log = time.monotonic() + self.options.log_every_s
            self._flush(time.monotonic(), force=True)  # a last attempt; the rest is replayed
            self._commit(time.monotonic(), sync=True)
            clean = True
        finally:
            self._close(clean)
        return self.metrics

    def _prepare(self, stop: StopSignal) -> bool:
        """Connect, migrate and create the ledger, retrying until ClickHouse answers."""
        while not stop.stopped:
            try:
                self._clickhouse()
                return True
            except UNAVAILABLE as exc:
                delay = self.backoff.failed(time.monotonic())
                log.warning("ClickHouse at %s unavailable (%s): retry in %.1fs",
                            redact_urls(self.url), _reason(exc), delay)  # fmt: skip
                stop.wait(delay)
        return False

    def _clickhouse(self) -> Client:
        if self.client is None:
            s = self.settings
            client = connect(
                self.url, **credentials(s),
                connect_timeout=5, send_receive_timeout=60,
            )  # fmt: skip
            if not self.prepared:
                migrate(client, s)  # idempotent; the tables must exist before the first insert
                ledger.ensure(client, self.database)
                self.prepared = True
            self.client = client
            self.backoff.succeeded()
        return self.client

    def _step(self) -> None:
        now = time.monotonic()
        if self.backoff.ready(now) and any(not b.resolved for b in self.buffers.values()):
            self._resolve()
        generation = self.generation
        messages = self.consumer.consume(self.options.fetch_max, self.options.poll_s)
        if messages:
            if self.generation != generation:
                self._reread(messages)
            else:
                self._take(messages)
        now = time.monotonic()
        if self.backoff.ready(now):
            over = sum(b.buffered for b in self.buffers.values()) >= self.options.max_buffered
            self._flush(now, force=over)  # any cut is safe: the ledger has it first
        self._apply_pause()
        self._commit(now)

    def _take(self, messages: list[Message]) -> None:
        now, now_ms = time.monotonic(), time.time_ns() // 1_000_000
        counts, most = self.metrics.counts, self.options.batch_records
        topics_in = self.metrics.traffic.topics_in
        for m in messages:
            error = m.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    counts["consume_errors"] += 1
                    log.error("consumer error: %s", error)
                    if error.fatal():
                        raise RuntimeError(f"fatal consumer error: {error}")
                continue
            topic, partition, offset = m.topic() or "", m.partition() or 0, m.offset() or 0
            buffer = self.buffers.get((topic, partition))
            if buffer is None or (buffer.next is not None and offset < buffer.next):
                counts["stale"] += 1
                continue
            stamp = m.timestamp()[1]
            value = m.value()
            try:
                rows = rows_of(topic, value)  # type: ignore[arg-type]
            except Malformed as problem:
                counts["malformed"] += 1
                self._log_malformed(problem, topic, partition, offset)
                letter = malformed_row(problem, topic, partition, offset, stamp, now_ms)
                rows = [("dead_letters", letter)]
            if not rows:
                counts["skipped"] += 1
            buffer.add(offset, stamp, rows, now, most)
            counts["consumed"] += 1
            topics_in[topic] += 1
        self.metrics.traffic.batch(len(messages))

    def _reread(self, messages: list[Message]) -> None:
        """A rebalance was served inside ``consume``: its records may predate it. Take none
        and seek each partition still held back to where its buffer expects the next one."""
        self.metrics.counts["rebalance_rereads"] += 1
        for tp in {(m.topic() or "", m.partition() or 0) for m in messages}:
            buffer = self.buffers.get(tp)
            if buffer is None:
                continue
            offset = buffer.next if buffer.next is not None else OFFSET_BEGINNING
            try:
                self.consumer.seek(TopicPartition(tp[0], tp[1], offset))
            except KafkaException as exc:  # not fetching yet: it starts from the commit
                log.debug("no seek on %s[%d]: %s", tp[0], tp[1], exc)

    # --- inserting -----------------------------------------------------------------------
    def _flush(self, now: float, *, force: bool, only: Collection[Partition] | None = None) -> bool:
        """Cut what is due, record the cuts, insert every ready batch in partition order.
        False if ClickHouse failed (input paused, back-off armed)."""
        buffers = [b for tp, b in self.buffers.items() if only is None or tp in only]
        for buffer in buffers:
            buffer.cut_due(now, self.options.batch_s, force=force)
        ready = [b for b in buffers if b.ready]
        if not ready:
            return True
        try:
            client = self._clickhouse()
            unrecorded = [batch for b in ready for batch in b.ready if not batch.recorded]
            if unrecorded:
                ledger.record(client, self.database, self.group_id, unrecorded)
                for batch in unrecorded:
                    batch.recorded = True
            for buffer in ready:
                while buffer.ready:
                    self._insert(client, buffer.ready[0])
                    batch = buffer.inserted()
                    self.pending[(batch.topic, batch.partition)] = batch.last + 1
                    self._inserted(batch)
        except UNAVAILABLE as exc:
            self._failed(now, exc)
            return False
        if self.backoff.failing:
            log.info("ClickHouse answers again after %d failed attempts: resuming input",
                     self.backoff.failures)  # fmt: skip
            self.backoff.succeeded()
        return True

    def _insert(self, client: Client, batch: Batch) -> None:
        observe = self.metrics.insert_ms.observe
        for table, rows in batch.rows.items():
            started = time.perf_counter()
            insert_rows(client, self.database, table, rows, token=batch.token)
            observe((time.perf_counter() - started) * 1000.0)
            self.metrics.counts["inserts"] += 1
        for table, ids in retraction_checks(batch.rows).items():
            delete_retracted(client, self.database, table, ids)

    def _inserted(self, batch: Batch) -> None:
        counts = self.metrics.counts
        counts["batches"] += 1
        for table, rows in batch.rows.items():
            counts[f"rows.{table}"] += len(rows)
        done_ms = time.time_ns() / 1_000_000
        self.metrics.end_to_end_ms.observe_many(done_ms - s for s in batch.stamps)
        self.batches_inserted += 1
        crash_after = self.options.crash_after_inserts
        if crash_after and self.batches_inserted >= crash_after:
            # Test only (LUCENT_SINK_CRASH_AFTER_INSERTS): die like kill -9 between an insert
            # and its commit, the window the de-duplication tokens and the ledger protect.
            log.warning("crashing on purpose after %d batch inserts, before their commit",
                        self.batches_inserted)  # fmt: skip
            logging.shutdown()
            os.kill(os.getpid(), signal.SIGKILL)

    def _failed(self, now: float, exc: BaseException, what: str = "insert") -> None:
        delay = self.backoff.failed(now)
        counts = self.metrics.counts
        counts[f"{what}_failures"] += 1
        if self.backoff.failures > 1:
            counts["retries"] += 1
        log.warning("ClickHouse %s failed (%s): input paused, attempt %d in %.1fs",
                    what, _reason(exc), self.backoff.failures + 1, delay)  # fmt: skip
        self._apply_pause()

    def _apply_pause(self) -> None:
        """Pause every assigned partition while ClickHouse fails or memory is full; resume
        once inserts work and the buffers are down to half the bound."""
        buffered = sum(b.buffered for b in self.buffers.values())
        full = buffered >= self.options.max_buffered or (
            bool(self.paused) and buffered > self.options.max_buffered // 2
        )
        want = set(self.buffers) if self.backoff.failing or full else set()
        if paused := want - self.paused:
            self.consumer.pause([TopicPartition(t, p) for t, p in paused])
            self.paused |= paused
            self.metrics.counts["pauses"] += 1
        if resumed := self.paused - want:
            self.consumer.resume([TopicPartition(t, p) for t, p in resumed])
            self.paused -= resumed

    # --- committing ----------------------------------------------------------------------
    def _commit(
        self, now: float, *, sync: bool = False, only: Collection[Partition] | None = None
    ) -> None:
        """Commit inserted offsets: asynchronously at most every ``commit_interval_s`` (a lost
        commit only means a replay, which the tokens absorb), synchronously when asked."""
        offsets = {tp: o for tp, o in self.pending.items() if only is None or tp in only}
        if not offsets or (not sync and now < self._next_commit):
            return
        self._next_commit = now + self.options.commit_interval_s
        partitions = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        started = time.monotonic()
        answered: list[TopicPartition] | None = None
        try:
            if sync:
                answered = self.consumer.commit(offsets=partitions, asynchronous=False)
            else:
                self.consumer.commit(offsets=partitions, asynchronous=True)
        except KafkaException as exc:
            self.metrics.counts["commit_failures"] += 1
            log.warning("offset commit of %d partitions failed: %s", len(offsets), exc)
            return
        self.metrics.counts["commits"] += 1
        if sync:
            self.metrics.commit_ms.observe((time.monotonic() - started) * 1000.0)
            self._on_commit(None, list(answered or ()))

    def _on_commit(self, error: KafkaError | None, partitions: list[TopicPartition]) -> None:
        if error is not None:
            self.metrics.counts["commit_failures"] += 1
            log.warning("offset commit failed: %s", error)
            return
        for tp in partitions:
            key = (tp.topic, tp.partition)
            if tp.error is not None:
                self.metrics.counts["commit_failures"] += 1
            elif key in self.pending and self.pending[key] <= tp.offset:
                del self.pending[key]

    # --- rebalances ----------------------------------------------------------------------
    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.generation += 1
        self.metrics.counts["rebalances"] += 1
        self.metrics.traffic.rebalanced("assign", len(partitions))
        starts = self._committed(partitions)
        for (topic, partition), start in starts.items():
            self.buffers[(topic, partition)] = PartitionBuffer(topic, partition, start)
        log.info("sink %s assigned %s", self.group_id, sorted(starts))
        self._resolve()

    def _committed(self, partitions: list[TopicPartition]) -> dict[Partition, int | None]:
        wanted = [TopicPartition(tp.topic, tp.partition) for tp in partitions]
        try:
            answer = self.consumer.committed(wanted, timeout=10)
        except KafkaException as exc:  # then every recorded cut is looked at: slower, as safe
            log.warning("committed offsets unknown (%s): reading the whole ledger", exc)
            return {(tp.topic, tp.partition): None for tp in wanted}
        return {(tp.topic, tp.partition): tp.offset if tp.offset >= 0 else None for tp in answer}

    def _resolve(self) -> None:
        """Give partitions not yet resolved their recorded cuts (ClickHouse down: later)."""
        todo = {tp: b.start for tp, b in self.buffers.items() if not b.resolved}
        if not todo:
            return
        try:
            cuts = ledger.planned(self._clickhouse(), self.database, self.group_id, todo)
        except UNAVAILABLE as exc:
            self._failed(time.monotonic(), exc, what="ledger")
            return
        for tp, planned in cuts.items():
            if planned:
                log.info("%s[%d]: repeating %d recorded batch cut(s) from offset %d",
                         tp[0], tp[1], len(planned), planned[0].first)  # fmt: skip
            self.buffers[tp].resolve(planned, self.options.batch_records)

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        gone = {(tp.topic, tp.partition) for tp in partitions}
        self.generation += 1
        self.metrics.traffic.rebalanced("revoke", len(gone))
        if not self.backoff.failing:
            self._flush(time.monotonic(), force=True, only=gone)
        self._commit(time.monotonic(), sync=True, only=gone)
        self._forget(gone)
        log.info("sink %s revoked %s", self.group_id, sorted(gone))

    def _on_lost(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        gone = {(tp.topic, tp.partition) for tp in partitions}
        self.generation += 1
        self.metrics.traffic.rebalanced("lost", len(gone))
        self._forget(gone)
        log.info("sink %s lost %s", self.group_id, sorted(gone))

    def _forget(self, gone: set[Partition]) -> None:
        for tp in gone:
            buffer = self.buffers.pop(tp, None)
            if buffer is not None and buffer.buffered:
                self.metrics.counts["dropped_on_revoke"] += buffer.buffered
            self.pending.pop(tp, None)
            self.paused.discard(tp)

    def _close(self, clean: bool) -> None:
        try:
            self.consumer.close()  # revokes: flushes and commits what it can
        finally:
            if self.client is not None:
                self.client.close()
            state = "stopped" if clean else "failed"
            log.info("sink %s %s: %s", self.group_id, state, self.metrics.log_line())

    def _log_malformed(self, problem: Malformed, topic: str, partition: int, offset: int) -> None:
        self._malformed_logged += 1
        n = self._malformed_logged
        if n <= 10 or n % 1000 == 0:
            log.warning(
                "%s[%d]@%d stored as a dead letter (%s: %s); %d so far",
                topic, partition, offset, problem.reason, problem.detail[:200], n,
            )  # fmt: skip


def _reason(exc: BaseException) -> str:
    """The error in one line, naming the innermost cause (say, "Connection refused")."""
    root = exc
    while (inner := root.__cause__ or root.__context__) is not None and inner is not root:
        root = inner
    text = (str(root).strip().splitlines() or [""])[0][:200]
    outer = type(exc).__name__
    return f"{outer}: {text}" if root is exc else f"{outer} ← {type(root).__name__}: {text}"
