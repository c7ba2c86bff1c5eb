"""The Quix Streams peer of `lucent bench processor`, end to end on a broker of its own:
simulated raw data in, the same normalized records and dead letters out as our processor
gives for the same records.

Opt-in (``LUCENT_BENCH_PEER=1``): the peer's venv is installed from PyPI the first time.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings
from lucent_platform.envelope import decode
from lucent_platform.processing import InRecord, MarketProcessor, Output, ProcessorConfig
from lucent_platform.processing.deadletter import DeadLetter
from lucent_platform.processing.deadletter import decode as decode_dead_letter
from lucent_platform.simulator import AnomalyRates, MarketSimulator, SimulatorConfig
from lucent_platform.topics import DEADLETTER, fixed_topics, normalized
from streaming.bench.peer_env import ensure_peer_env
from streaming.bench.quix_peer import DEFAULT_REGEX, RAW_KINDS
from streaming.publisher import Publisher

REPO = Path(__file__).resolve().parents[1]
START_MS = 1_795_000_000_000

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("LUCENT_BENCH_PEER") != "1",
        reason="installs the Quix Streams peer's venv from PyPI: set LUCENT_BENCH_PEER=1",
    ),
]


def outcome(out: Output) -> tuple[str, ...]:
    """What identifies an output whatever the order partitions were interleaved in (latency
    and cross-venue figures depend on it): a normalized record's topic, key and message id;
    a dead letter's reason and source record."""
    if out.topic == DEADLETTER:
        letter = decode_dead_letter(out.value)
        where = (letter.source_topic, str(letter.source_partition), str(letter.source_offset))
        return (DEADLETTER, letter.reason, *where)
    return (out.topic, (out.key or b"").decode(), decode(out.value).header.message_id)


def dead_letters(
    settings: Settings, bootstrap: str, count: int
) -> list[tuple[DeadLetter, list[tuple[str, bytes]]]]:
    """The dead-letter topic's records with their headers (``read_topic`` leaves them out)."""
    consumer = kafka.consumer(settings, bootstrap, group_id="quix-peer-test-headers")
    partitions = consumer.list_topics(DEADLETTER, timeout=10).topics[DEADLETTER].partitions
    consumer.assign([TopicPartition(DEADLETTER, p, 0) for p in partitions])
    letters: list[tuple[DeadLetter, list[tuple[str, bytes]]]] = []
    try:
        while len(letters) < count and (batch := consumer.consume(1_000, timeout=5)):
            letters += [(decode_dead_letter(m.value()), m.headers() or []) for m in batch]
    finally:
        consumer.close()
    assert len(letters) == count
    return letters


def test_the_quix_peer_matches_our_processor(own_broker: str, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    kafka.provision(
        kafka.admin(settings, own_broker), fixed_topics(), replication_factor=1,
        min_insync_replicas=1,
    )  # fmt: skip
    anomalies = AnomalyRates(outlier=20, duplicate=30, late=20, malformed=20)
    simulator = MarketSimulator(
        SimulatorConfig(pairs=("BTC-USDT", "ETH-USDC"), anomalies=anomalies), start_ms=START_MS
    )
    raw = re.compile(DEFAULT_REGEX)
    publisher = Publisher(settings, own_broker)
    injected: Counter[str] = Counter()
    inputs: set[str] = set()
    for message in simulator.run(10_000):
        if raw.match(message.topic):
            publisher.publish(message.topic, message.key, message.value)
            injected[message.injected or "none"] += 1
            inputs.add(message.topic)
    assert publisher.flush(30) == 0
    sent = sum(injected.values())
    assert 300 < sent < 2_000 and injected["duplicate"] and injected["malformed"], injected

    topics = sorted(inputs)
    python = ensure_peer_env(REPO)
    command = [str(python), "-m", "streaming.bench.quix_peer", "--bootstrap", own_broker,
               "--group", "quix-peer-test", "--expect", str(sent)]  # fmt: skip
    for topic in topics:
        command += ["--topic", topic]
    done = subprocess.run(
        command, env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=tmp_path,
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["processed"] == sent
    assert report["quixstreams"] and 0 < report["seconds"] < 180
    assert report["first_record_wall"] < report["done_wall"] <= time.time()

    # Our processor on the same records, as consumed (partition, offset, timestamp).
    processor = MarketProcessor(ProcessorConfig(), clock_ms=lambda: time.time_ns() // 1_000_000)
    expected: Counter[tuple[str, ...]] = Counter()
    for topic in topics:
        records = kafka.read_topic(settings, own_broker, topic)
        processor.assigned({(topic, r.partition) for r in records})
        result = processor.process(
            [InRecord(r.topic, r.partition, r.offset, r.timestamp_ms, r.key, r.value)
             for r in records]
        )  # fmt: skip
        expected.update(outcome(out) for out in result.outputs)
    assert sum(expected.values()) == report["outputs"]

    produced: Counter[tuple[str, ...]] = Counter()
    for topic in [normalized(kind) for kind in RAW_KINDS] + [DEADLETTER]:
        for r in kafka.read_topic(settings, own_broker, topic):
            out = Output(topic, r.key, r.value or b"")
            produced[outcome(out)] += 1
    assert produced == expected
    reasons = Counter(o[1] for o in produced if o[0] == DEADLETTER)
    letters = dead_letters(settings, own_broker, sum(reasons.values()))
    assert all(headers == [("reason", letter.reason.encode())] for letter, headers in letters)
    assert reasons["undecodable"] == injected["malformed"], (reasons, injected)
    assert sent == sum(produced.values()) + injected["duplicate"]
