"""Broker-side health and the workers' per-topic splits (issue #10, item 1).

The core's rules (skew, under-replication, rebalances counted between samples) on plain
values; then on the real broker: a topic written unevenly reads as skewed, two runtime workers
in one group count their rebalances (each worker's callbacks, and the group's state changes
the broker watch sees between samples), and the metrics endpoint's registry shows both.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

from lucent_platform.adapters import kafka, kafka_health
from lucent_platform.brokerhealth import (
    BrokerSample,
    GroupSample,
    PartitionSample,
    RebalanceCounter,
    broker_health,
    rebalances_between,
    skew,
    topic_health,
)
from lucent_platform.cli.status_screen import render
from lucent_platform.config import Settings
from lucent_platform.status.gather import gather
from lucent_platform.topics import TopicSpec
from streaming.broker_watch import BrokerWatch, watching_broker
from streaming.exposed import exposed
from streaming.lifecycle import StopSignal
from streaming.metrics_server import registry_for
from streaming.runtime import WorkerMetrics, run_worker
from streaming.runtime.traffic import Traffic
from tests.test_metrics_endpoints import Samples, total
from tests.test_runtime_loop import EARLIEST, PassThrough, create_topics, produce_ids


def part(
    topic: str, p: int, leader: int, records: int, isr: Iterable[int] = (1, 2)
) -> PartitionSample:
    return PartitionSample(topic, p, leader, (1, 2), tuple(isr), records)


def test_skew_is_max_over_mean() -> None:
    assert skew([10, 10, 10]) == 1.0
    assert skew([0, 0]) == 1.0 and skew([]) == 1.0
    assert skew([30, 0, 0]) == 3.0
    assert skew([80, 10, 10]) == 2.4


def test_topic_health_counts_leaders_and_replication() -> None:
    (t,) = topic_health(
        [part("a", 0, 1, 80), part("a", 1, 1, 10, isr=(1,)), part("a", 2, -1, 10)], [1, 2]
    )
    assert (t.partitions, t.records, t.record_skew) == (3, 100, 2.4)
    assert t.leaders == ((1, 2), (2, 0)) and t.leader_skew == 2.0  # broker 1 leads both
    assert (t.under_replicated, t.offline) == (1, 1)


def test_rebalances_are_counted_between_samples() -> None:
    stable = GroupSample("g", "stable", (("m1", (("t", 0), ("t", 1))),))
    split = GroupSample("g", "stable", (("m1", (("t", 0),)), ("m2", (("t", 1),))))
    rebalancing = GroupSample("g", "unknown")  # Tansu's state while a group rebalances
    assert rebalances_between(None, stable) == 0
    assert rebalances_between(stable, stable) == 0
    assert rebalances_between(stable, rebalancing) == 1  # seen entering one
    assert rebalances_between(rebalancing, rebalancing) == 0  # the same one
    assert rebalances_between(rebalancing, split) == 0  # its end, already counted
    assert rebalances_between(stable, split) == 1  # a whole one between two samples
    assert rebalances_between(stable, GroupSample("g", "empty")) == 1  # the members left
    assert rebalances_between(stable, GroupSample("g", "dead")) == 0
    counter = RebalanceCounter()
    for sample in (stable, rebalancing, split, split, rebalancing, stable):
        counter.observe([sample, GroupSample("other", "empty")])
    assert counter.counts == {"g": 2, "other": 0}
    sampled = BrokerSample((1, 2), (part("a", 0, 2, 5),), (split,))
    health = broker_health(sampled, counter.counts)
    assert health.brokers == 2 and health.under_replicated == 0
    assert [(g.group, g.members, g.rebalances) for g in health.groups] == [("g", 2, 2)]
    # Tansu describes a live group's state but lists no members: unknown, not "nobody"
    unlisted = BrokerSample((1,), (), (GroupSample("g", "stable"), GroupSample("idle", "empty")))
    assert [g.members for g in broker_health(unlisted, {}).groups] == [None, 0]


def test_traffic_buckets_batch_sizes_by_powers_of_two() -> None:
    traffic = Traffic()
    for n in (1, 2, 3, 4, 5, 1000):
        traffic.consumed(["t"] * n, n)
    traffic.batch(0)  # an idle tick is no batch
    buckets = dict(traffic.size_buckets())
    assert (buckets["1"], buckets["2"], buckets["4"], buckets["8"]) == (1, 2, 4, 5)
    assert buckets["1024"] == buckets["+Inf"] == 6
    assert traffic.batch_total == 1015 and traffic.topics_in == {"t": 1015}
    traffic.rebalanced("assign", 4)
    traffic.rebalanced("revoke", 4)
    traffic.rebalanced("assign", 2)
    assert traffic.assigned == 2 and traffic.rebalances == {"assign": 2, "revoke": 1}


def test_an_unevenly_written_topic_reads_as_skewed(
    own_broker: str, settings: Settings, unique: str
) -> None:
    topic = f"skewed.{unique}"
    create_topics(settings, own_broker, TopicSpec(topic, 3), TopicSpec(f"even.{unique}", 2))
    producer = kafka.producer(settings, own_broker, **{"linger.ms": 20})  # batched writes
    for i in range(100):
        producer.produce(topic, b"x", partition=0 if i < 80 else 1 + i % 2)
    assert producer.flush(30) == 0
    health = broker_health(kafka_health.sample(settings, own_broker), {})
    by_topic = {t.topic: t for t in health.topics}
    skewed = by_topic[topic]
    # Read past Tansu's batch-base watermark: 80 / 10 / 10 records, 80 over a mean of 33.3.
    assert (skewed.records, skewed.record_skew) == (100, 2.4)
    assert skewed.under_replicated == skewed.offline == 0
    assert health.brokers == 1 and skewed.leader_skew == 1.0
    assert by_topic[f"even.{unique}"].record_skew == 1.0  # empty


def scraped(worker: str) -> Samples:
    text = generate_latest(registry_for(worker)).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_two_workers_in_one_group_count_their_rebalances(
    own_broker: str, settings: Settings, unique: str
) -> None:
    src, out, group = f"reb.in.{unique}", f"reb.out.{unique}", f"reb-{unique}"
    create_topics(settings, own_broker, TopicSpec(src, 4), TopicSpec(out, 4))
    n = produce_ids(settings, own_broker, src, range(2000))
    stop = StopSignal()
    results: list[WorkerMetrics] = []
    first_busy = threading.Event()

    def worker(i: int) -> None:
        def on_batch(metrics: WorkerMetrics) -> None:
            first_busy.set()
            stop.wait(0.05)  # slow: input is left when the second one joins

        metrics = run_worker(
            settings, own_broker, group_id=group, subscribe=[src], processor=PassThrough(out),
            stop=stop, batch_size=50, on_batch=on_batch, consumer_config=EARLIEST,
        )  # fmt: skip
        results.append(metrics)

    with watching_broker(settings, own_broker, every_s=0.2) as watch:
        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in (0, 1)]
        threads[0].start()
        assert first_busy.wait(30), "the first worker consumed nothing"
        assert wait_for(lambda: group_rebalances(watch, group) is not None, 30)
        before = group_rebalances(watch, group)
        threads[1].start()
        # The broker watch sees the group leave its stable state when the second one joins.
        assert wait_for(lambda: (group_rebalances(watch, group) or 0) > (before or 0), 60)
        assert wait_for(lambda: [m.traffic.assigned > 0 for m in stages(group)] == [True] * 2, 60)
        held = [m.traffic.assigned for m in stages(group)]
        samples = scraped("test")
        stop.set()
        for thread in threads:
            thread.join(60)
    assert len(results) == 2

    first = max(results, key=lambda m: m.traffic.rebalances["assign"])
    # Each worker's own callbacks: the first was assigned everything, gave it back when the
    # second joined and got its share again (eager assignment); the second was assigned once.
    assert first.traffic.rebalances["assign"] >= 2 and first.traffic.rebalances["revoke"] >= 1
    consumed = sum(m.counts["consumed"] for m in results)
    assert consumed >= n
    for m in results:  # the splits add up to the totals
        assert sum(m.traffic.topics_in.values()) == m.counts["consumed"]
        assert set(m.traffic.topics_in) <= {src} and set(m.traffic.topics_out) <= {out}
        assert sum(m.traffic.topics_out.values()) == m.counts["produced"]
        assert m.traffic.batch_total == m.counts["consumed"]

    # On the endpoint while both ran (one series per stage name: in this one process the two
    # workers' samples share their labels, so one of them is read): the 2 partitions of 4
    # each held, rebalances by kind, the group's rebalances and the balance of its topics.
    assert held == [2, 2]

    assert total(samples, "lucent_assigned_partitions", stage=group) == 2
    assert total(samples, "lucent_rebalances_total", stage=group, kind="assign") >= 1
    assert total(samples, "lucent_messages_in_total", stage=group, topic=src) == total(
        samples, "lucent_messages_in_total", stage=group
    )
    assert total(samples, "lucent_group_rebalances_total", group=group) >= 1
    assert total(samples, "lucent_topic_partition_skew", topic=src) >= 1.0
    assert total(samples, "lucent_under_replicated_partitions", topic=src) == 0
    assert total(samples, "lucent_broker_samples_total", outcome="ok") >= 2


def stages(group: str) -> list[WorkerMetrics]:
    """The running workers' metrics of ``group``, as the metrics endpoint finds them."""
    return [item.obj for item in exposed() if item.kind == "stage" and item.name == group]


def group_rebalances(watch: BrokerWatch, group: str) -> int | None:
    health = watch.health
    if health is None:
        return None
    return next((g.rebalances for g in health.groups if g.group == group), None)


def wait_for(condition: object, timeout: float) -> bool:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_status_shows_the_broker_part(own_broker: str, tmp_path: Path, unique: str) -> None:
    """``lucent status`` against the services the settings name (only the broker is up):
    its Broker part lists the skewed topic and the group, on the screen and in ``--json``."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path / "lucent", kafka_bootstrap_servers=own_broker,
        nats_url="nats://127.0.0.1:9", clickhouse_url="http://127.0.0.1:9",
        eventstore_path=tmp_path / "events.sqlite",
    )  # fmt: skip
    topic, group = f"skewed.{unique}", f"status-{unique}"
    create_topics(settings, own_broker, TopicSpec(topic, 2))
    producer = kafka.producer(settings, own_broker)
    for i in range(40):
        producer.produce(topic, b"x", partition=0 if i < 36 else 1)
    assert producer.flush(30) == 0
    consumer = kafka.consumer(settings, own_broker, group, **EARLIEST)
    consumer.subscribe([topic])
    try:
        read = []
        assert wait_for(lambda: read.append(consumer.poll(0.2)) or read[-1] is not None, 30)
        consumer.commit(read[-1], asynchronous=False)  # Tansu lists a group once it has offsets
        snapshot, _ = gather(settings, (), rate_interval_s=0.1)
    finally:
        consumer.close()
    assert snapshot.broker is not None, snapshot.notes
    (skewed,) = [t for t in snapshot.broker.topics if t.topic == topic]
    assert (skewed.records, skewed.record_skew) == (40, 1.8)
    assert group in {g.group for g in snapshot.broker.groups}
    shown = json.loads(json.dumps(snapshot.as_dict()))
    assert {g["group"] for g in shown["broker"]["groups"]} >= {group}
    console = Console(record=True, width=200, color_system=None)
    console.print(render(snapshot))
    screen = console.export_text()
    assert "Broker: 1 broker(s)" in screen and "0 under-replicated" in screen
    assert "Consumer groups" in screen and group in screen
