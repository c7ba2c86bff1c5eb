"""The worker runtime against the real broker: exact counts, regexes, dead letters, backpressure.

Each test runs ``run_worker`` in a thread with its own topics and group, and stops it from
``on_batch`` once every input record has been consumed. The helpers are shared with the
crash tests in ``test_runtime_crash.py``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from confluent_kafka import TopicPartition

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings
from lucent_platform.topics import TopicSpec
from streaming.lifecycle import StopSignal
from streaming.runtime import InRecord, Output, Result, WorkerMetrics, run_worker

EARLIEST = {"auto.offset.reset": "earliest"}


def create_topics(settings: Settings, bootstrap: str, *specs: TopicSpec) -> None:
    results = kafka.provision(
        kafka.admin(settings, bootstrap), specs, replication_factor=1, min_insync_replicas=1
    )
    assert all(not r.status.startswith("failed") for r in results), results


def produce_ids(settings: Settings, bootstrap: str, topic: str, ids: Iterable[int | bytes]) -> int:
    """Write one record per id (value = the id, keyed by it); returns how many."""
    producer = kafka.producer(settings, bootstrap)
    n = 0
    for i in ids:
        value = i if isinstance(i, bytes) else str(i).encode()
        while True:
            try:
                producer.produce(topic, value, value)
                break
            except BufferError:
                producer.poll(0.05)
        n += 1
    assert producer.flush(30) == 0
    return n


def read_values(
    settings: Settings,
    bootstrap: str,
    topic: str,
    *,
    expect: int,
    timeout: float = 20.0,
    read_committed: bool = True,
) -> list[bytes]:
    """Every value of ``topic`` from the start; waits until ``expect`` arrived, then 0.5 s more
    so extra (duplicate) records are seen too."""
    probe = kafka.consumer(
        settings, bootstrap, "probe",
        **{"isolation.level": "read_committed" if read_committed else "read_uncommitted"},
    )  # fmt: skip
    try:
        meta = probe.list_topics(topic, timeout=10).topics[topic]
        probe.assign([TopicPartition(topic, p, 0) for p in meta.partitions])
        values: list[bytes] = []
        deadline = time.monotonic() + timeout
        settle: float | None = None
        while time.monotonic() < (settle or deadline):
            for m in probe.consume(10_000, 0.2):
                if m.error() is None:
                    values.append(m.value() or b"")
            if settle is None and len(values) >= expect:
                settle = time.monotonic() + 0.5
        return values
    finally:
        probe.close()


def high_watermarks(settings: Settings, bootstrap: str, topic: str, n: int) -> list[int]:
    probe = kafka.consumer(settings, bootstrap, "ends")
    try:
        ends = kafka.end_offsets(probe, [TopicPartition(topic, p) for p in range(n)])
        return [ends[(topic, p)][1] for p in range(n)]
    finally:
        probe.close()


def committed(settings: Settings, bootstrap: str, group: str, topic: str, n: int) -> list[int]:
    probe = kafka.consumer(settings, bootstrap, group)
    try:
        answer = probe.committed([TopicPartition(topic, p) for p in range(n)], timeout=10)
        return [tp.offset for tp in answer]
    finally:
        probe.close()


class PassThrough:
    """Every record to ``out`` unchanged; remembers which partitions it was given."""

    def __init__(self, out: str) -> None:
        self.out = out
        self.owned: set[tuple[str, int]] = set()
        self.ever: set[tuple[str, int]] = set()
        self.empty_batches = 0

    def process(self, batch: Sequence[InRecord]) -> Result:
        if not batch:
            self.empty_batches += 1
        outputs = [Output(self.out, r.key, r.value or b"") for r in batch]
        return Result(outputs, Counter({"in": len(batch), "out": len(outputs)}))

    def assigned(self, partitions: Iterable[tuple[str, int]]) -> None:
        self.owned.update(partitions)
        self.ever.update(self.owned)

    def revoked(self, partitions: Iterable[tuple[str, int]]) -> None:
        self.owned.difference_update(partitions)


def run_until(
    until: Callable[[WorkerMetrics], bool], timeout: float = 30.0, **kwargs: Any
) -> WorkerMetrics:
    """``run_worker`` in a thread until ``until(metrics)`` holds after a batch."""
    stop = StopSignal()
    done: list[WorkerMetrics] = []
    errors: list[BaseException] = []

    def on_batch(metrics: WorkerMetrics) -> None:
        if until(metrics):
            stop.set()

    def main() -> None:
        try:
            done.append(run_worker(stop=stop, on_batch=on_batch, **kwargs))
        except BaseException as exc:  # surfaced in the test's thread below
            errors.append(exc)

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    thread.join(timeout)
    stop.set()
    thread.join(15)
    if errors:
        raise errors[0]
    assert done, "the worker did not stop"
    return done[0]


def test_pass_through_moves_every_record_once(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    src, out, group = f"rt.in.{unique}", f"rt.out.{unique}", f"rt-{unique}"
    create_topics(settings, kafka_bootstrap, TopicSpec(src, 3), TopicSpec(out, 3))
    n = produce_ids(settings, kafka_bootstrap, src, range(3000))
    processor = PassThrough(out)
    metrics = run_until(
        lambda m: m.counts["consumed"] >= n,
        settings=settings, bootstrap=kafka_bootstrap, group_id=group, subscribe=[src],
        processor=processor, batch_size=500, consumer_config=EARLIEST,
    )  # fmt: skip
    assert metrics.counts["consumed"] == metrics.counts["produced"] == n
    assert metrics.counts["in"] == metrics.counts["out"] == n
    assert metrics.end_to_end_ms.count == n and metrics.batch_ms.count == metrics.counts["batches"]
    values = read_values(settings, kafka_bootstrap, out, expect=n)
    assert sorted(values) == sorted(str(i).encode() for i in range(n))
    ends = kafka.end_offsets(
        kafka.consumer(settings, kafka_bootstrap, "ends"),
        [TopicPartition(src, p) for p in range(3)],
    )
    assert committed(settings, kafka_bootstrap, group, src, 3) == [
        ends[(src, p)][1] for p in (0, 1, 2)
    ]
    assert processor.ever == {(src, p) for p in range(3)}
    assert processor.owned == set()  # closing the consumer revoked everything


def test_regex_subscription_follows_matching_topics(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    a, b, other = f"rx.{unique}.a", f"rx.{unique}.b", f"ry.{unique}.a"
    late, out = f"rx.{unique}.late", f"rx-out.{unique}"
    create_topics(settings, kafka_bootstrap, *(TopicSpec(t, 1) for t in (a, b, other, out)))
    for topic in (a, b, other):
        produce_ids(settings, kafka_bootstrap, topic, range(100))
    processor = PassThrough(out)

    def add_late_topic(metrics: WorkerMetrics) -> bool:
        if metrics.counts["consumed"] == 200 and not processor.ever & {(late, 0)}:
            create_topics(settings, kafka_bootstrap, TopicSpec(late, 1))
            produce_ids(settings, kafka_bootstrap, late, range(50))
        return metrics.counts["consumed"] >= 250

    metrics = run_until(
        add_late_topic,
        settings=settings, bootstrap=kafka_bootstrap, group_id=f"rx-{unique}",
        subscribe=[rf"^rx\.{unique}\..*"], processor=processor,
        consumer_config={**EARLIEST, "topic.metadata.refresh.interval.ms": 500},
    )  # fmt: skip
    assert metrics.counts["consumed"] == 250
    assert processor.ever == {(a, 0), (b, 0), (late, 0)}


class DeadLetters:
    """Non-numbers go to a dead-letter topic, repeated ids are dropped, the rest pass."""

    def __init__(self, out: str, dead: str) -> None:
        self.out, self.dead = out, dead
        self.seen: set[bytes] = set()

    def process(self, batch: Sequence[InRecord]) -> Result:
        outputs: list[Output] = []
        counts: Counter[str] = Counter(in_=0)
        for r in batch:
            value = r.value or b""
            counts["in"] += 1
            if not value.isdigit():
                reason = (("reason", b"not a number"), ("source", f"{r.topic}/{r.offset}".encode()))
                outputs.append(Output(self.dead, r.key, value, reason))
                counts["dead_lettered"] += 1
            elif value in self.seen:
                counts["duplicates"] += 1
            else:
                self.seen.add(value)
                outputs.append(Output(self.out, r.key, value))
                counts["out"] += 1
        return Result(outputs, counts)

    def assigned(self, partitions: Iterable[tuple[str, int]]) -> None:
        pass

    def revoked(self, partitions: Iterable[tuple[str, int]]) -> None:
        pass


def test_dead_letters_and_duplicates_keep_exact_counts(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    src, out, dead = f"dl.in.{unique}", f"dl.out.{unique}", f"dl.dead.{unique}"
    create_topics(settings, kafka_bootstrap, *(TopicSpec(t, 1) for t in (src, out, dead)))
    inputs: list[int | bytes] = [*range(500), b"garbage", *range(100), b"\xff\x00", b""]
    n = produce_ids(settings, kafka_bootstrap, src, inputs)
    metrics = run_until(
        lambda m: m.counts["consumed"] >= n,
        settings=settings, bootstrap=kafka_bootstrap, group_id=f"dl-{unique}", subscribe=[src],
        processor=DeadLetters(out, dead), batch_size=64, consumer_config=EARLIEST,
    )  # fmt: skip
    c = metrics.counts
    assert (c["in"], c["out"], c["dead_lettered"], c["duplicates"]) == (n, 500, 3, 100)
    assert c["in"] == c["out"] + c["dead_lettered"] + c["duplicates"]
    assert len(read_values(settings, kafka_bootstrap, out, expect=500)) == 500
    dead_values = read_values(settings, kafka_bootstrap, dead, expect=3)
    assert sorted(dead_values) == sorted([b"garbage", b"\xff\x00", b""])


def test_backpressure_pauses_the_input_and_loses_nothing(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    src, out = f"bp.in.{unique}", f"bp.out.{unique}"
    create_topics(settings, kafka_bootstrap, TopicSpec(src, 2), TopicSpec(out, 2))
    n = produce_ids(settings, kafka_bootstrap, src, range(3000))
    metrics = run_until(
        lambda m: m.counts["consumed"] >= n,
        settings=settings, bootstrap=kafka_bootstrap, group_id=f"bp-{unique}", subscribe=[src],
        processor=PassThrough(out), consumer_config=EARLIEST, max_outstanding=200,
        producer_config={"queue.buffering.max.messages": 50}, pause_after_s=0.0,
    )  # fmt: skip
    assert metrics.counts["backpressure_waits"] > 0
    assert metrics.counts["pauses"] > 0
    assert metrics.counts["produced"] == n
    values = read_values(settings, kafka_bootstrap, out, expect=n)
    assert sorted(values) == sorted(str(i).encode() for i in range(n))


def test_a_quiet_input_still_ticks_the_processor(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    src = f"tick.in.{unique}"
    create_topics(settings, kafka_bootstrap, TopicSpec(src, 1))
    processor = PassThrough(f"tick.out.{unique}")
    stop = StopSignal()
    threading.Timer(1.5, stop.set).start()
    run_worker(
        settings, kafka_bootstrap, group_id=f"tick-{unique}", subscribe=[src],
        processor=processor, stop=stop, idle_tick_s=0.1,
    )  # fmt: skip
    assert processor.empty_batches >= 5
