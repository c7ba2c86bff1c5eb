"""Tables joined by a processor (``streaming.runtime.tables``) against the real broker: the
whole compacted topic is applied before the first input record, and what it gains while the
worker runs (updates, tombstones) applies to the input that follows."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings
from lucent_platform.signals import Table
from lucent_platform.topics import TopicSpec
from streaming.lifecycle import StopSignal
from streaming.runtime import InRecord, Output, Result, run_worker
from tests.test_runtime_loop import EARLIEST, create_topics, read_values


class Lookup:
    """Each input record (value = a key) becomes ``key=<table value or ->``."""

    def __init__(self, table_topic: str, out: str) -> None:
        self.table = Table(table_topic, self._parse)
        self.out = out
        self.seen = 0

    @staticmethod
    def _parse(value: bytes) -> bytes:
        if value == b"bad":
            raise ValueError("not a value")
        return value

    def tables(self) -> Sequence[Table[Any]]:
        return [self.table]

    def process(self, batch: Sequence[InRecord]) -> Result:
        outputs = []
        for r in batch:
            key = r.value or b""
            outputs.append(Output(self.out, key, key + b"=" + (self.table.get(key) or b"-")))
        self.seen += len(batch)
        return Result(outputs, Counter({"in": len(batch)}))

    def assigned(self, partitions: Iterable[tuple[str, int]]) -> None:
        pass

    def revoked(self, partitions: Iterable[tuple[str, int]]) -> None:
        pass


def produce(
    settings: Settings, bootstrap: str, topic: str, *records: tuple[bytes, bytes | None]
) -> None:
    producer = kafka.producer(settings, bootstrap)
    for key, value in records:
        producer.produce(topic, value, key)
    assert producer.flush(30) == 0


def start(processor: Lookup, **kwargs: Any) -> tuple[threading.Thread, StopSignal, list[Any]]:
    """``run_worker`` in a thread; returns it, its stop signal and where its metrics go."""
    stop = StopSignal()
    done: list[Any] = []
    thread = threading.Thread(
        target=lambda: done.append(run_worker(processor=processor, stop=stop, **kwargs)),
        daemon=True,
    )
    thread.start()
    return thread, stop, done


def wait(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_table_loaded_before_input_and_followed_while_running(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    src, table, out = f"tb.in.{unique}", f"tb.table.{unique}", f"tb.out.{unique}"
    create_topics(settings, kafka_bootstrap, TopicSpec(src, 2), TopicSpec(out, 1),
                  TopicSpec(table, 3, compacted=True))  # fmt: skip
    # Before start: a, b, c set; a updated; c deleted by a tombstone; d set to a bad value.
    produce(settings, kafka_bootstrap, table, (b"a", b"1"), (b"b", b"2"), (b"c", b"3"),
            (b"a", b"11"), (b"c", None), (b"d", b"bad"))  # fmt: skip
    produce(settings, kafka_bootstrap, src, *((k, k) for k in (b"a", b"b", b"c", b"d")))
    processor = Lookup(table, out)
    thread, stop, done = start(
        processor, settings=settings, bootstrap=kafka_bootstrap, group_id=f"tb-{unique}",
        subscribe=[src], consumer_config=EARLIEST,
    )  # fmt: skip
    try:
        wait(lambda: processor.seen >= 4)
        # While running: c comes back, b is deleted, e is new; then input that uses them.
        produce(settings, kafka_bootstrap, table, (b"c", b"33"), (b"b", None), (b"e", b"5"))
        wait(lambda: processor.table.get(b"e") is not None)
        produce(settings, kafka_bootstrap, src, *((k, k) for k in (b"b", b"c", b"e")))
        wait(lambda: processor.seen >= 7)
    finally:
        stop.set()
        thread.join(20)
    assert done, "the worker did not stop"
    values = read_values(settings, kafka_bootstrap, out, expect=7)
    assert sorted(values) == sorted([b"a=11", b"b=2", b"c=-", b"d=-", b"b=-", b"c=33", b"e=5"])
    assert processor.table.rejected == 1
    assert done[0].counts["table_updates"] >= 8


def test_rule_written_while_running_applies_to_the_very_next_record(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    """A table update produced before an input record is applied before that record is
    processed, even when both arrive within one loop iteration (the table is polled after
    the batch is fetched, before it is processed)."""
    src, table, out = f"tn.in.{unique}", f"tn.table.{unique}", f"tn.out.{unique}"
    create_topics(settings, kafka_bootstrap, TopicSpec(src, 1), TopicSpec(out, 1),
                  TopicSpec(table, 1, compacted=True))  # fmt: skip
    processor = Lookup(table, out)
    thread, stop, _ = start(
        processor, settings=settings, bootstrap=kafka_bootstrap, group_id=f"tn-{unique}",
        subscribe=[src], consumer_config=EARLIEST,
    )  # fmt: skip
    try:
        produce(settings, kafka_bootstrap, src, (b"x", b"x"))
        wait(lambda: processor.seen >= 1)
        for i in range(5):
            produce(settings, kafka_bootstrap, table, (b"x", str(i).encode()))
            time.sleep(0.3)  # the table's fetch is in flight while the input's arrives
            produce(settings, kafka_bootstrap, src, (b"x", b"x"))
            wait(lambda n=i + 2: processor.seen >= n)
    finally:
        stop.set()
        thread.join(20)
    values = read_values(settings, kafka_bootstrap, out, expect=6)
    assert values == [b"x=-", b"x=0", b"x=1", b"x=2", b"x=3", b"x=4"]
