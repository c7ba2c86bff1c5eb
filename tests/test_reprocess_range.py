"""``lucent reprocess --group G --since T1 --until T2``: the group's own worker recomputes
exactly the records of [T1, T2), and the group's committed offsets end where they were.

The processor runs on a broker of its own (it subscribes by regex to every raw topic): price
updates in three spans of record time go in, it runs to the end and stops, then the command
runs through click's CliRunner with the settings pointing at the test broker.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner, Result
from confluent_kafka import ConsumerGroupState, TopicPartition
from confluent_kafka.admin import AdminClient

from lucent_platform.adapters import kafka
from lucent_platform.adapters.kafka_time import committed_offsets
from lucent_platform.cli.main import cli
from lucent_platform.config import Settings
from lucent_platform.envelope import decode, encode, new_envelope
from lucent_platform.messages import PriceUpdate
from lucent_platform.topics import (
    RAW_PARTITIONS,
    Kind,
    TopicSpec,
    fixed_topics,
    normalized,
    raw_topic,
)
from streaming.lifecycle import StopSignal
from streaming.processor import GROUP_ID, run
from streaming.registry import BOUNDED
from tests.message_samples import SAMPLES

HOUR = 3_600_000
STABLE = ConsumerGroupState.STABLE
EXCHANGES = ("binance", "coinbase")
PER_SPAN = 25  # per exchange


def produce_spans(settings: Settings, bootstrap: str, t0: int) -> dict[int, set[str]]:
    """PER_SPAN price updates per exchange in each of the hours from t0, t0 + 1 h, t0 + 2 h
    (record time = event time); the message ids of each span."""
    sample = SAMPLES["price_update"]
    assert isinstance(sample, PriceUpdate)
    raw = [
        raw_topic("price_update", msgspec.structs.replace(sample, exchange=ex)) for ex in EXCHANGES
    ]
    kafka.provision(
        kafka.admin(settings, bootstrap), [TopicSpec(t, RAW_PARTITIONS) for t in raw],
        replication_factor=1, min_insync_replicas=1,
    )  # fmt: skip
    producer = kafka.producer(settings, bootstrap)
    ids: dict[int, set[str]] = {0: set(), 1: set(), 2: set()}
    n = 0
    for span in (0, 1, 2):
        for i in range(PER_SPAN):
            for exchange in EXCHANGES:
                n += 1
                price = 2800.0 + n * 0.01  # every record distinct, none an outlier
                data = msgspec.structs.replace(
                    sample, exchange=exchange, price=price, bid=price - 0.1, ask=price + 0.1,
                    spread=0.2,
                )  # fmt: skip
                stamp = t0 + span * HOUR + i * 1000
                envelope = new_envelope(
                    data, source=f"{exchange}-test", event_time_ms=stamp, received_time_ms=stamp
                )
                topic = raw_topic("price_update", data)
                producer.produce(topic, encode(envelope), b"ETH-USDC", timestamp=stamp)
                ids[span].add(envelope.header.message_id)
    assert producer.flush(30) == 0
    return ids


def normalized_ids(settings: Settings, bootstrap: str) -> list[str]:
    """The message id of every record on every ``market.{kind}.all``, read by one consumer."""
    topics = [normalized(kind) for kind in Kind]
    probe = kafka.consumer(settings, bootstrap, "probe")
    try:
        metadata = probe.list_topics(timeout=10).topics
        probe.assign([TopicPartition(t, p, 0) for t in topics for p in metadata[t].partitions])
        ids = []
        while batch := probe.consume(10_000, 1.0):
            ids += [decode(m.value() or b"").header.message_id for m in batch if not m.error()]
        return ids
    finally:
        probe.close()


def run_processor_to_the_end(settings: Settings, bootstrap: str, expect: int) -> None:
    """The live processor, until its committed offsets cover every raw record; then stopped."""
    stop = StopSignal()
    thread = threading.Thread(target=run, args=(settings, bootstrap, stop), daemon=True)
    thread.start()
    admin = kafka.admin(settings, bootstrap)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            offsets = committed_offsets(admin, GROUP_ID)
            if sum(o or 0 for o in offsets.values()) >= expect:
                break
            time.sleep(0.3)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()


def wait_for_members(admin: AdminClient, group: str, timeout: float = 30.0) -> None:
    """Until the group is stable, i.e. has members (the local broker lists none by name)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if admin.describe_consumer_groups([group])[group].result().state == STABLE:
            return
        time.sleep(0.2)
    raise AssertionError(f"nobody joined {group}")


def reprocess(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(cli, ["reprocess", *args], obj={"settings": settings})


@pytest.mark.slow
def test_a_time_range_is_recomputed_and_the_group_left_where_it_was(
    own_broker: str, tmp_path: Path
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path, kafka_bootstrap_servers=own_broker
    )
    kafka.provision(
        kafka.admin(settings, own_broker), fixed_topics(), replication_factor=1,
        min_insync_replicas=1,
    )  # fmt: skip
    t0 = (time.time_ns() // 1_000_000) - 4 * HOUR
    spans = produce_spans(settings, own_broker, t0)
    total = sum(len(ids) for ids in spans.values())
    run_processor_to_the_end(settings, own_broker, total)
    before_ids = normalized_ids(settings, own_broker)
    assert sorted(before_ids) == sorted(set().union(*spans.values()))
    admin = kafka.admin(settings, own_broker)
    before = committed_offsets(admin, GROUP_ID)
    assert len(before) == len(EXCHANGES) and sum(o or 0 for o in before.values()) == total

    since, until = str(t0 + HOUR), str(t0 + 2 * HOUR)
    args = ["--group", GROUP_ID, "--since", since, "--until", until]
    dry = reprocess(settings, *args, "--dry-run")
    assert dry.exit_code == 0, dry.output
    for topic, partition in before:
        # committed → start … end: the middle span of each raw topic
        row = next(line for line in dry.output.splitlines() if line.startswith(topic))
        assert row.split()[1:6] == [
            str(partition), str(3 * PER_SPAN), str(PER_SPAN), str(2 * PER_SPAN), str(PER_SPAN)
        ], row  # fmt: skip
    assert f"{len(spans[1])} record(s) in range" in dry.output
    assert "nothing changed" in dry.output
    assert committed_offsets(admin, GROUP_ID) == before
    assert sorted(normalized_ids(settings, own_broker)) == sorted(before_ids)

    done = reprocess(settings, *args)
    assert done.exit_code == 0, done.output
    assert f"recomputed {len(spans[1])} record(s)" in done.output
    assert f"normalized={len(spans[1])}" in done.output
    assert "restored" in done.output
    after_ids = normalized_ids(settings, own_broker)
    anew = sorted(after_ids)
    for seen in before_ids:
        anew.remove(seen)
    assert sorted(anew) == sorted(spans[1])  # exactly the middle span, once each
    assert committed_offsets(admin, GROUP_ID) == before

    # The live processor continues where it stopped (no output redone), and while it runs
    # the group's offsets cannot be moved: the command refuses and changes nothing.
    stop = StopSignal()
    live = threading.Thread(target=run, args=(settings, own_broker, stop), daemon=True)
    live.start()
    try:
        wait_for_members(admin, GROUP_ID)
        refused = reprocess(settings, *args)
        assert refused.exit_code == 1 and "stop its workers first" in refused.output
    finally:
        stop.set()
        live.join(30)
    assert committed_offsets(admin, GROUP_ID) == before
    assert sorted(normalized_ids(settings, own_broker)) == sorted(after_ids)


def test_until_needs_a_group_whose_worker_lucent_knows(tmp_path: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path, kafka_bootstrap_servers="127.0.0.1:9"
    )
    result = reprocess(settings, "--group", "someone-else", "--since", "2h", "--until", "1h")
    assert result.exit_code == 2
    assert "someone-else" in result.output and "'lucent-processor'" in result.output
    assert "--since alone" in result.output
    backwards = reprocess(settings, "--group", GROUP_ID, "--since", "1h", "--until", "2h")
    assert backwards.exit_code == 2 and "later than --since" in backwards.output


def test_every_bounded_group_is_its_workers_own() -> None:
    assert set(BOUNDED) == {GROUP_ID}
