"""Seeking by time and rewinding a group, on a broker that answers offsets_for_times wrongly."""

from __future__ import annotations

from confluent_kafka import TopicPartition

from lucent_platform import topics
from lucent_platform.adapters import kafka
from lucent_platform.adapters.kafka_time import (
    apply_rewind,
    commit_offsets,
    offset_for_time,
    plan_range,
    plan_rewind,
)
from lucent_platform.config import Settings

T0 = 1_700_000_000_000


def _fill(settings: Settings, bootstrap: str, topic: str, n: int) -> None:
    admin = kafka.admin(settings, bootstrap)
    kafka.provision(
        admin, [topics.TopicSpec(topic, 1)], replication_factor=1, min_insync_replicas=1
    )
    producer = kafka.producer(settings, bootstrap)
    for i in range(n):  # one record a second of event time
        producer.produce(topic, value=str(i).encode(), timestamp=T0 + i * 1000)
    assert producer.flush(10) == 0


def test_offset_for_time_is_exact_even_where_the_broker_is_wrong(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    topic = f"test.time.{unique}"
    _fill(settings, kafka_bootstrap, topic, 50)
    probe = kafka.consumer(settings, kafka_bootstrap, f"probe-{unique}")
    try:
        assert offset_for_time(probe, topic, 0, T0 + 17_000) == (17, "search")  # Tansu says 0
        assert offset_for_time(probe, topic, 0, T0 + 16_500)[0] == 17
        assert offset_for_time(probe, topic, 0, T0 - 5)[0] == 0
        assert offset_for_time(probe, topic, 0, T0 + 99_000)[0] == 50  # after the end
    finally:
        probe.close()


def test_a_group_is_rewound_to_a_time(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    topic, group = f"test.rewind.{unique}", f"group-{unique}"
    _fill(settings, kafka_bootstrap, topic, 30)
    member = kafka.consumer(settings, kafka_bootstrap, group)
    member.commit(offsets=[TopicPartition(topic, 0, 30)], asynchronous=False)
    member.close()
    admin = kafka.admin(settings, kafka_bootstrap)
    probe = kafka.consumer(settings, kafka_bootstrap, f"probe-{unique}")
    try:
        plan = plan_rewind(admin, probe, group, T0 + 10_000)
    finally:
        probe.close()
    assert [(r.topic, r.committed, r.target) for r in plan] == [(topic, 30, 10)]
    apply_rewind(admin, group, plan)
    again = kafka.consumer(settings, kafka_bootstrap, group)
    try:
        committed = again.committed([TopicPartition(topic, 0)], timeout=10)
    finally:
        again.close()
    assert committed[0].offset == 10


def test_a_range_is_planned_up_to_what_the_group_processed(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    topic, done, behind = f"test.range.{unique}", f"done-{unique}", f"behind-{unique}"
    _fill(settings, kafka_bootstrap, topic, 50)
    admin = kafka.admin(settings, kafka_bootstrap)
    commit_offsets(admin, done, {(topic, 0): 50})
    commit_offsets(admin, behind, {(topic, 0): 25})
    probe = kafka.consumer(settings, kafka_bootstrap, f"probe-{unique}")
    try:
        ranges = {
            group: [(s.committed, s.start, s.end, s.records) for s in plan]
            for group in (done, behind)
            if (plan := plan_range(admin, probe, group, T0 + 10_000, T0 + 40_000))
        }
        late = plan_range(admin, probe, behind, T0 + 30_000, T0 + 40_000)
    finally:
        probe.close()
    assert ranges[done] == [(50, 10, 40, 30)]
    # beyond the committed offset the worker has not been yet: nothing there to redo
    assert ranges[behind] == [(25, 10, 25, 15)]
    assert [(s.start, s.end, s.records) for s in late] == [(25, 25, 0)]


def test_lucent_reprocess_dry_run_then_rewind(
    kafka_bootstrap: str, settings: Settings, unique: str, tmp_path: object
) -> None:
    import os
    import subprocess
    import sys

    topic, group = f"test.reprocess.{unique}", f"group-{unique}"
    _fill(settings, kafka_bootstrap, topic, 20)
    member = kafka.consumer(settings, kafka_bootstrap, group)
    member.commit(offsets=[TopicPartition(topic, 0, 20)], asynchronous=False)
    member.close()
    env = {**os.environ, "LUCENT_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
           "LUCENT_DATA_DIR": str(tmp_path)}  # fmt: skip
    since = "2023-11-14T22:13:25Z"  # T0 + 5 s
    command = [sys.executable, "-m", "lucent_platform.cli", "reprocess", "--group", group,
               "--since", since]  # fmt: skip
    dry = subprocess.run([*command, "--dry-run"], env=env, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    assert f"{topic}" in dry.stdout and " 20 " in dry.stdout and " 5 " in dry.stdout
    assert "nothing changed" in dry.stdout
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    again = kafka.consumer(settings, kafka_bootstrap, group)
    try:
        assert again.committed([TopicPartition(topic, 0)], timeout=10)[0].offset == 5
    finally:
        again.close()


def test_times_are_read_as_iso_epoch_or_age() -> None:
    from lucent_platform.cli.reprocess import parse_time

    assert parse_time("2023-11-14T22:13:20Z") == T0
    assert parse_time(str(T0)) == T0
    assert parse_time("15m", now_ms=T0) == T0 - 15 * 60_000
    assert parse_time("2h", now_ms=T0) == T0 - 7_200_000
