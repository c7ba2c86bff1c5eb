"""Scale-out: a second worker joins the group mid-stream; partitions move, nothing is lost."""

from __future__ import annotations

import threading

import pytest

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

N = 10_000


@pytest.mark.parametrize("exactly_once", [False, True], ids=["at-least-once", "exactly-once"])
def test_a_joining_worker_takes_over_partitions_without_loss(
    kafka_bootstrap: str, settings: Settings, unique: str, exactly_once: bool
) -> None:
    src, out, group = f"scale.in.{unique}", f"scale.out.{unique}", f"scale-{unique}"
    create_topics(settings, kafka_bootstrap, TopicSpec(src, 4), TopicSpec(out, 4))
    produce_ids(settings, kafka_bootstrap, src, range(N))
    stop = StopSignal()
    processors = [PassThrough(out), PassThrough(out)]
    results: list[WorkerMetrics] = []
    second_started = threading.Event()
    consumed = [0, 0]

    def worker(i: int) -> None:
        def on_batch(metrics: WorkerMetrics) -> None:
            consumed[i] = metrics.counts["consumed"] - metrics.counts["rewound"]
            if i == 0 and consumed[0] >= N // 10:
                second_started.set()
            # Slow enough that the second worker joins while there is input left.
            stop.wait(0.1)

        metrics = run_worker(
            settings, kafka_bootstrap, group_id=group, subscribe=[src],
            processor=processors[i], stop=stop, exactly_once=exactly_once, instance_id=str(i),
            batch_size=200, on_batch=on_batch, consumer_config=EARLIEST,
        )  # fmt: skip
        results.append(metrics)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in (0, 1)]
    threads[0].start()
    assert second_started.wait(30), "the first worker made no progress"
    threads[1].start()
    values = read_values(settings, kafka_bootstrap, out, expect=N, timeout=60)
    stop.set()
    for thread in threads:
        thread.join(30)
    assert len(results) == 2

    seen = set(values)
    assert seen == {str(i).encode() for i in range(N)}  # nothing lost
    first, second = processors
    assert first.ever == {(src, p) for p in range(4)}  # it owned everything at first …
    assert second.ever and second.ever < first.ever  # … then handed some over
    assert sum(m.counts["rebalances"] for m in results) >= 3
    assert committed(settings, kafka_bootstrap, group, src, 4) == high_watermarks(
        settings, kafka_bootstrap, src, 4
    )
    print(f"{len(values) - N} repeats after the rebalance")
