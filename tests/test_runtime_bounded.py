"""Bounded runs (``run_worker(until=…)``, what ``lucent reprocess --until`` runs): exactly the
records in [committed, end) of each partition, commits ending at the ends, and a run that
stops by itself — at once when there is nothing to do."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import pytest

from lucent_platform.adapters import kafka
from lucent_platform.adapters.kafka_time import commit_offsets
from lucent_platform.config import Settings
from lucent_platform.topics import TopicSpec
from streaming.lifecycle import StopSignal
from streaming.runtime import WorkerMetrics, run_worker
from tests.test_runtime_loop import (
    EARLIEST,
    PassThrough,
    committed,
    create_topics,
    high_watermarks,
    produce_ids,
    read_values,
)

Partition = tuple[str, int]


def run_by_itself(timeout: float = 30.0, **kwargs: Any) -> WorkerMetrics:
    """``run_worker`` in a thread that nobody stops: it must return on its own."""
    done: list[WorkerMetrics] = []
    errors: list[BaseException] = []
    stop = StopSignal()

    def main() -> None:
        try:
            done.append(run_worker(stop=stop, **kwargs))
        except BaseException as exc:  # surfaced in the test's thread below
            errors.append(exc)

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    thread.join(timeout)
    stopped_by_itself = not thread.is_alive()
    stop.set()
    thread.join(15)
    if errors:
        raise errors[0]
    assert stopped_by_itself, "the bounded run did not stop by itself"
    return done[0]


def values_at(
    settings: Settings, bootstrap: str, topic: str, spans: Mapping[Partition, tuple[int, int]]
) -> list[bytes]:
    """The values of the records at offsets [start, end) of each partition."""
    return [
        r.value or b""
        for r in kafka.read_topic(settings, bootstrap, topic)
        if (topic, r.partition) in spans
        and spans[(topic, r.partition)][0] <= r.offset < spans[(topic, r.partition)][1]
    ]


def test_a_bounded_run_processes_exactly_the_range_and_stops(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    src, out, group = f"bd.in.{unique}", f"bd.out.{unique}", f"bd-{unique}"
    create_topics(settings, kafka_bootstrap, TopicSpec(src, 4), TopicSpec(out, 1))
    produce_ids(settings, kafka_bootstrap, src, range(2000))
    highs = high_watermarks(settings, kafka_bootstrap, src, 4)
    assert all(h > 100 for h in highs), highs
    spans = {
        (src, 0): (10, highs[0] - 20),  # a middle stretch
        (src, 1): (0, highs[1]),  # all of it: ends at the high watermark
        (src, 2): (30, 30),  # nothing to do
    }  # partition 3 has no bound: not read, not committed
    admin = kafka.admin(settings, kafka_bootstrap)
    commit_offsets(admin, group, {tp: start for tp, (start, _) in spans.items()})
    processor = PassThrough(out)
    metrics = run_by_itself(
        settings=settings, bootstrap=kafka_bootstrap, group_id=group, subscribe=[src],
        processor=processor, batch_size=97, consumer_config=EARLIEST,
        until={tp: end for tp, (_, end) in spans.items()},
    )  # fmt: skip
    expected = values_at(settings, kafka_bootstrap, src, spans)
    assert metrics.counts["consumed"] == metrics.counts["in"] == len(expected)
    assert sorted(read_values(settings, kafka_bootstrap, out, expect=len(expected))) == sorted(
        expected
    )
    ends = committed(settings, kafka_bootstrap, group, src, 4)
    assert ends[:3] == [end for _, end in spans.values()]
    assert ends[3] < 0  # never committed
    assert processor.ever == {(src, p) for p in range(4)}


def test_a_bounded_run_with_nothing_to_do_returns_at_once(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    src, out, group = f"bd0.in.{unique}", f"bd0.out.{unique}", f"bd0-{unique}"
    create_topics(settings, kafka_bootstrap, TopicSpec(src, 2), TopicSpec(out, 1))
    produce_ids(settings, kafka_bootstrap, src, range(50))
    highs = high_watermarks(settings, kafka_bootstrap, src, 2)
    # one partition at its end (no record will ever come), one empty range mid-partition
    until = {(src, 0): highs[0], (src, 1): 3}
    commit_offsets(kafka.admin(settings, kafka_bootstrap), group, until)
    metrics = run_by_itself(
        timeout=15.0, settings=settings, bootstrap=kafka_bootstrap, group_id=group,
        subscribe=[src], processor=PassThrough(out), consumer_config=EARLIEST, until=until,
    )  # fmt: skip
    assert metrics.counts["consumed"] == 0 and metrics.counts["produced"] == 0
    assert committed(settings, kafka_bootstrap, group, src, 2) == [highs[0], 3]
    # and no bounds at all: nothing to wait for
    metrics = run_by_itself(
        timeout=15.0, settings=settings, bootstrap=kafka_bootstrap, group_id=group,
        subscribe=[src], processor=PassThrough(out), consumer_config=EARLIEST, until={},
    )  # fmt: skip
    assert metrics.counts["consumed"] == 0


def test_a_bound_outside_the_subscription_is_refused(settings: Settings) -> None:
    with pytest.raises(ValueError, match="outside the subscription"):
        run_worker(
            settings, "127.0.0.1:9", group_id="g", subscribe=[r"^market\.prices\..*"],
            processor=PassThrough("out"), stop=StopSignal(), until={("other.topic", 0): 5},
        )  # fmt: skip


@pytest.mark.slow
def test_a_bound_behind_transaction_markers_is_reached_and_committed(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    src, out, group = f"bdtx.in.{unique}", f"bdtx.out.{unique}", f"bdtx-{unique}"
    create_topics(settings, kafka_bootstrap, TopicSpec(src, 1), TopicSpec(out, 1))
    producer = kafka.producer(settings, kafka_bootstrap, **{"transactional.id": group})
    producer.init_transactions(10)
    for _ in range(2):  # records 0-9, a commit marker, records 11-20, a commit marker
        producer.begin_transaction()
        for i in range(10):
            producer.produce(src, str(i).encode())
        producer.commit_transaction(10)
    (high,) = high_watermarks(settings, kafka_bootstrap, src, 1)
    assert high == 22
    # no record at or after either bound ever comes: the markers before them are the end
    for start, end in ((0, 11), (11, high)):
        commit_offsets(kafka.admin(settings, kafka_bootstrap), group, {(src, 0): start})
        metrics = run_by_itself(
            timeout=20.0, settings=settings, bootstrap=kafka_bootstrap, group_id=group,
            subscribe=[src], processor=PassThrough(out), until={(src, 0): end},
        )  # fmt: skip
        assert metrics.counts["consumed"] == 10
        assert committed(settings, kafka_bootstrap, group, src, 1) == [end]
