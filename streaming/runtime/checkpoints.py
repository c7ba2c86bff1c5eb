"""Window state rebuilt after a restart or a rebalance by re-reading input (DESIGN.md
decision 4): checkpoints on the compacted ``lucent.checkpoints`` topic, and the replay.

A stateful processor (``records.Stateful``: a ``WindowedApp``) reports per input partition a
``Mark``: the offset of the oldest record its open windows hold, and its watermark. The worker
writes it, keyed ``{group}/{topic}/{partition}``, as a ``Checkpoint`` that adds ``next``: the
offset up to which the state was built. One rule makes a checkpoint valid whatever happens
after it: **every output of the records before ``next`` is durable when it is written.**

- at-least-once: at most every ``every_s``, the worker takes the checkpoints of the state it
  holds and hands them to the guarantee, which produces them as soon as every batch produced
  before them is acknowledged (``after_inflight``; the loop does not wait: a drain here cost
  two broker round trips a second, the in-worker p99 of ``lucent bench apps``); and after the
  drain of a revocation and of a stop. A crash before a checkpoint is acknowledged leaves an
  older one, which is still valid.
- exactly-once: the checkpoints ride in the batch's transaction (when due), so they are
  visible if and only if the batch's outputs and offsets are.

On assignment, for each gained partition: read the latest checkpoint (the whole checkpoint
topic, from its beginning — it is compacted, and read only then), ``restore`` the mark, and
``warm`` the processor with the input from ``start`` up to where live processing resumes —
``max(committed offset, next)`` at-least-once (records before ``next`` already have durable
outputs), the committed offset exactly-once — then consume live from there. No outputs come
from the replay. Without a checkpoint a partition starts empty from its committed offset.

Not ``offsets_for_times`` or commit metadata: the local broker (Tansu 0.6) answers both
wrongly; nor a changelog: windows are short (10 s, 5 min), so re-reading is cheap.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping

import msgspec
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings
from lucent_platform.signals.windows import Mark
from streaming.runtime.metrics import WorkerMetrics
from streaming.runtime.records import InRecord, Output, Stateful

log = logging.getLogger(__name__)

Partition = tuple[str, int]
REPLAY_BATCH = 10_000


class Checkpoint(msgspec.Struct, rename="camel", frozen=True):
    """Where a partition's window state restarts. As it travels::

    {"next": 81723, "start": 80112, "watermarkMs": 1756809000141}
    """

    next: int
    start: int | None = None
    watermark_ms: int | None = None


_decode = msgspec.json.Decoder(Checkpoint).decode
_encode = msgspec.json.Encoder().encode


def checkpoint_key(group_id: str, partition: Partition) -> bytes:
    return f"{group_id}/{partition[0]}/{partition[1]}".encode()


class Checkpoints:
    """A stateful worker's checkpoints: what to write, and the rebuild on assignment."""

    def __init__(
        self,
        processor: Stateful,
        topic: str,
        group_id: str,
        metrics: WorkerMetrics,
        reader: Callable[[], Consumer],
        *,
        every_s: float,
        exactly_once: bool,
    ) -> None:
        self.processor = processor
        self.topic = topic
        self.group_id = group_id
        self.metrics = metrics
        self._reader = reader
        self.every_s = every_s
        self.exactly_once = exactly_once
        self.positions: dict[Partition, int] = {}  # next offset to process, where known
        self._next_at = 0.0

    # --- writing ---------------------------------------------------------------------------
    def processed(self, offsets: Mapping[Partition, int]) -> None:
        self.positions.update(offsets)

    def due(self) -> bool:
        return time.monotonic() >= self._next_at

    def outputs(self, partitions: Iterable[Partition]) -> list[Output]:
        """The checkpoints of ``partitions`` as they stand (only where the position is
        known: a partition that never had a record nor a commit has nothing to restart)."""
        self._next_at = time.monotonic() + self.every_s
        out = []
        for tp in sorted(partitions):
            position = self.positions.get(tp)
            mark = self.processor.checkpoint(tp)
            if position is None or mark is None:
                continue
            value = Checkpoint(position, mark.start, mark.watermark_ms)
            out.append(Output(self.topic, checkpoint_key(self.group_id, tp), _encode(value)))
        self.metrics.counts["checkpoints"] += len(out)
        return out

    def forget(self, partitions: Iterable[Partition]) -> None:
        for tp in partitions:
            self.positions.pop(tp, None)

    # --- rebuilding ------------------------------------------------------------------------
    def rebuild(
        self, partitions: list[Partition], committed: Mapping[Partition, int | None]
    ) -> dict[Partition, int]:
        """Restore and warm ``partitions`` (already ``assigned`` to the processor); returns
        where each with a checkpoint resumes live processing (others: the committed offset)."""
        if not partitions:
            return {}
        started = time.monotonic()
        found = self._latest({checkpoint_key(self.group_id, tp): tp for tp in partitions})
        resume: dict[Partition, int] = {}
        spans: dict[Partition, tuple[int, int]] = {}
        for tp, cp in found.items():
            done = committed.get(tp)
            end = cp.next if done is None else (done if self.exactly_once else max(done, cp.next))
            self.processor.restore(tp, Mark(cp.start, cp.watermark_ms))
            resume[tp] = end
            if cp.start is not None and cp.start < end:
                spans[tp] = (cp.start, end)
        for tp in partitions:
            if tp not in resume and committed.get(tp) is not None:
                self.positions[tp] = committed[tp]  # type: ignore[assignment]
        self.positions.update(resume)
        replayed = self._replay(spans) if spans else 0
        self.metrics.counts["rebuilt_records"] += replayed
        self.metrics.counts["rebuilt_partitions"] += len(found)
        log.info("rebuilt %d of %d partitions from checkpoints, %d records re-read in %.2fs",
                 len(found), len(partitions), replayed, time.monotonic() - started)  # fmt: skip
        return resume

    def _latest(self, wanted: Mapping[bytes, Partition]) -> dict[Partition, Checkpoint]:
        """The last checkpoint of each wanted key: the checkpoint topic read to its end."""
        found: dict[Partition, Checkpoint] = {}
        reader = self._reader()
        try:
            meta = reader.list_topics(self.topic, timeout=10).topics.get(self.topic)
            if meta is None or meta.error is not None:
                log.warning("no checkpoint topic %s: state starts empty", self.topic)
                return found
            asked = [TopicPartition(self.topic, p) for p in meta.partitions]
            ends = kafka.end_offsets(reader, asked)
            spans = {tp: (OFFSET_BEGINNING, high) for tp, (low, high) in ends.items() if high > low}

            def take(records: list[InRecord]) -> None:
                for r in records:
                    tp = wanted.get(r.key or b"")
                    if tp is None:
                        continue
                    if r.value is None:
                        found.pop(tp, None)
                        continue
                    try:
                        found[tp] = _decode(r.value)
                    except msgspec.DecodeError:
                        log.warning("unreadable checkpoint %r ignored", r.key)

            _read(reader, spans, take)
        finally:
            reader.close()
        return found

    def _replay(self, spans: dict[Partition, tuple[int, int]]) -> int:
        count = 0

        def warm(records: list[InRecord]) -> None:
            nonlocal count
            count += len(records)
            self.processor.warm(records)

        reader = self._reader()
        try:
            _read(reader, spans, warm)
        finally:
            reader.close()
        return count


def _read(
    reader: Consumer,
    spans: Mapping[Partition, tuple[int, int]],
    handle: Callable[[list[InRecord]], None],
    timeout_s: float = 120.0,
) -> None:
    """Hand ``handle`` every record of each partition from its start up to, not including,
    its end, in offset order per partition. Ends are known offsets, so transaction markers
    before an end are recognised by the consumer's position, not by waiting."""
    if not spans:
        return
    reader.assign([TopicPartition(t, p, start) for (t, p), (start, _) in spans.items()])
    pending = {tp: end for tp, (_, end) in spans.items()}
    deadline = time.monotonic() + timeout_s
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f"re-reading {sorted(pending)} took over {timeout_s:.0f}s")
        messages = reader.consume(REPLAY_BATCH, 0.2)
        records: list[InRecord] = []
        for m in messages:
            if m.error() is not None:
                continue
            tp = (m.topic() or "", m.partition() or 0)
            end, offset = pending.get(tp), m.offset() or 0
            if end is None or offset >= end:
                continue
            key, value = m.key(), m.value()
            records.append(InRecord(tp[0], tp[1], offset, m.timestamp()[1], key, value))  # type: ignore[arg-type]
            if offset + 1 >= end:
                del pending[tp]
        if records:
            handle(records)
        if pending and not messages:
            positions = reader.position([TopicPartition(t, p) for t, p in pending])
            for at in positions:
                if at.offset >= pending[(at.topic, at.partition)]:
                    del pending[(at.topic, at.partition)]


def reader_factory(settings: Settings, bootstrap: str, group_id: str) -> Callable[[], Consumer]:
    """Consumers for re-reading: assigned by hand, committing nothing, read_committed."""

    def make() -> Consumer:
        return kafka.consumer(
            settings, bootstrap, f"{group_id}.rebuild",
            **{"isolation.level": "read_committed", "enable.partition.eof": False},
        )  # fmt: skip

    return make
