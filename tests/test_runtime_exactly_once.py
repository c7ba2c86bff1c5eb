"""Exactly-once mode against the real broker: one transaction per batch, abort and rewind."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from lucent_platform.config import Settings
from lucent_platform.topics import TopicSpec
from streaming.runtime import InRecord, Output, Result
from tests.test_runtime_loop import (
    EARLIEST,
    PassThrough,
    committed,
    create_topics,
    high_watermarks,
    produce_ids,
    read_values,
    run_until,
)


def test_exactly_once_outputs_are_read_committed_once(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    src, out, group = f"eos.in.{unique}", f"eos.out.{unique}", f"eos-{unique}"
    create_topics(settings, kafka_bootstrap, TopicSpec(src, 2), TopicSpec(out, 2))
    n = produce_ids(settings, kafka_bootstrap, src, range(2000))
    metrics = run_until(
        lambda m: m.counts["consumed"] >= n,
        settings=settings, bootstrap=kafka_bootstrap, group_id=group, subscribe=[src],
        processor=PassThrough(out), exactly_once=True, batch_size=300,
        consumer_config=EARLIEST,
    )  # fmt: skip
    assert metrics.counts["aborts"] == 0
    assert metrics.counts["commits"] == metrics.counts["batches"] >= 1
    values = read_values(settings, kafka_bootstrap, out, expect=n)
    assert sorted(values) == sorted(str(i).encode() for i in range(n))
    ends = high_watermarks(settings, kafka_bootstrap, src, 2)
    assert committed(settings, kafka_bootstrap, group, src, 2) == ends


class FailsOnce(PassThrough):
    """The second batch also writes to a topic that does not exist, once: its delivery
    fails, so the batch's transaction cannot commit."""

    def __init__(self, out: str, missing: str) -> None:
        super().__init__(out)
        self.missing = missing
        self.batches = 0
        self.failed = False
        self.events: list[tuple[str, frozenset[tuple[str, int]]]] = []

    def process(self, batch: Sequence[InRecord]) -> Result:
        result = super().process(batch)
        if batch:
            self.batches += 1
        if self.batches == 2 and not self.failed:
            self.failed = True
            result.outputs.append(Output(self.missing, None, b"doomed"))
        return result

    def assigned(self, partitions: Iterable[tuple[str, int]]) -> None:
        gained = frozenset(partitions)
        self.events.append(("assigned", gained))
        super().assigned(gained)

    def revoked(self, partitions: Iterable[tuple[str, int]]) -> None:
        lost = frozenset(partitions)
        self.events.append(("revoked", lost))
        super().revoked(lost)


def test_a_failed_transaction_is_aborted_and_its_batch_redone(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    src, out, group = f"abort.in.{unique}", f"abort.out.{unique}", f"abort-{unique}"
    create_topics(settings, kafka_bootstrap, TopicSpec(src, 1), TopicSpec(out, 1))
    n = produce_ids(settings, kafka_bootstrap, src, range(500))
    processor = FailsOnce(out, f"abort.missing.{unique}")
    metrics = run_until(
        lambda m: m.counts["consumed"] - m.counts["rewound"] >= n,
        settings=settings, bootstrap=kafka_bootstrap, group_id=group, subscribe=[src],
        processor=processor, exactly_once=True, batch_size=100, consumer_config=EARLIEST,
        producer_config={"message.timeout.ms": 1000, "allow.auto.create.topics": False},
    )  # fmt: skip
    assert metrics.counts["aborts"] == 1
    assert metrics.counts["consumed"] > n  # the aborted batch was read again
    # State of the batch's partition was dropped and rebuilt around the rewind.
    assert ("revoked", frozenset({(src, 0)})) in processor.events[1:]
    assert processor.events.count(("assigned", frozenset({(src, 0)}))) == 2
    values = read_values(settings, kafka_bootstrap, out, expect=n)
    assert set(values) == {str(i).encode() for i in range(n)}  # nothing lost
    # On Kafka a read_committed reader would also see each value once; Tansu 0.6 shows the
    # aborted transaction's records too (see test_runtime_crash.py).
    assert committed(settings, kafka_bootstrap, group, src, 1) == [n]
