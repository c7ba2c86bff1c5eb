"""Oversized and hostile input through a real processor: a record too big for its dead
letter to carry whole, 10 MB records, and the corpus's nastiest cases.

A 900 kB garbage record once stopped the processor: its dead letter (the original in base64,
1.2 MB) passed the producer's 1 MB message limit and ``produce`` raised out of the loop, on
every restart again. Now the letter carries the first ``MAX_ORIGINAL_BYTES`` with the full
size and hash, and a record over ``MAX_RECORD_BYTES`` is dead-lettered ``too_large`` before
parsing (a valid 1 MB envelope would otherwise become an output over the limit).

Limits measured here: librdkafka's producer refuses a value over its ``message.max.bytes``
(1,000,000 by default, which our producers keep) at ``produce`` with ``MSG_SIZE_TOO_LARGE``;
Tansu accepted and served 20 MB records from a producer that raised its limit (a Kafka broker
refuses over its ``message.max.bytes``, 1 MiB by default); a consumer reads them whole
(``receive.message.max.bytes`` 100 MB).
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path

import pytest
from confluent_kafka import KafkaException

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings
from lucent_platform.processing.deadletter import (
    MAX_DETAIL_CHARS,
    MAX_ORIGINAL_BYTES,
    MAX_RECORD_BYTES,
    DeadLetter,
    decode,
    encode,
)
from lucent_platform.simulator import MarketSimulator, SimulatorConfig
from lucent_platform.topics import DEADLETTER
from streaming.publisher import Publisher
from tests.fixtures.hostile import frames
from tests.test_runtime_loop import committed, high_watermarks
from tests.worker_process import provision_fixed_topics, start_worker, worker_env

START_MS = 1_795_000_000_000
PRODUCER_LIMIT = 1_000_000  # librdkafka's default message.max.bytes, which our producers keep


def _letter(original: bytes, detail: str = "not an envelope") -> DeadLetter:
    return DeadLetter(
        reason="undecodable", detail=detail, source_topic="market.prices.binance.btc-usdt",
        source_partition=0, source_offset=7, source_timestamp_ms=START_MS,
        dead_lettered_at_ms=START_MS + 1, original_base64=original,
    )  # fmt: skip


def test_a_small_original_travels_whole() -> None:
    letter = decode(encode(_letter(b"\xff\xfe garbage")))
    assert letter.original_base64 == b"\xff\xfe garbage"
    assert not letter.original_truncated and letter.original_size is None


def test_an_oversized_original_is_cut_with_its_size_and_hash() -> None:
    original = os.urandom(900_000)
    value = encode(_letter(original, detail="x" * 50_000))
    assert len(value) < PRODUCER_LIMIT
    letter = decode(value)
    assert letter.original_truncated
    assert letter.original_base64 == original[:MAX_ORIGINAL_BYTES]
    assert letter.original_size == len(original)
    assert letter.original_sha256 == hashlib.sha256(original).hexdigest()
    assert len(letter.detail) < MAX_DETAIL_CHARS + 50 and letter.detail.endswith("(50000 chars)")


def test_processor_dead_letters_a_900_kb_record_and_goes_on(
    own_broker: str, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    provision_fixed_topics(settings, own_broker)
    simulator = MarketSimulator(
        SimulatorConfig(pairs=("BTC-USDT",), rate_multiplier=1.0), start_ms=START_MS
    )
    messages = list(simulator.run(20_000))
    huge = b"\xff" + b"x" * 900_000  # not UTF-8, not JSON, nearly the broker's limit
    publisher = Publisher(settings, own_broker)
    topic = next(m.topic for m in messages if m.topic.startswith("market.prices."))
    publisher.publish(topic, b"huge", huge)
    # the corpus's raw frames, 10 MB ones too, through a producer whose limit lets them by
    nasty = {case.value: case.expect for case in frames()}
    big = kafka.producer(settings, own_broker, **{"message.max.bytes": 20_000_000})
    for value in nasty:
        big.produce(topic, value, b"nasty")
    assert big.flush(60) == 0
    for message in messages:
        publisher.publish(message.topic, message.key, message.value)
    assert publisher.flush(30) == 0

    log = tmp_path / "processor.log"
    worker = start_worker("processor", worker_env(tmp_path, own_broker), log)
    partitions = _partitions(settings, own_broker, topic)
    ends = high_watermarks(settings, own_broker, topic, partitions)
    deadline = time.monotonic() + 120
    done: list[int] = []
    try:  # until the processor has committed past every record of the topic, the huge one too
        while time.monotonic() < deadline and worker.poll() is None:
            done = committed(settings, own_broker, "lucent-processor", topic, partitions)
            if done == ends:
                break
            time.sleep(1)
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
        worker.wait(60)
    assert worker.returncode == 0, log.read_text()[-3000:]
    assert done == ends, (done, ends, log.read_text()[-2000:])
    letters = [
        decode(r.value or b"")
        for r in kafka.read_topic(settings, own_broker, DEADLETTER, limit=1_000)
    ]
    cut = [letter for letter in letters if letter.original_truncated]
    oversized = [v for v in [huge, *nasty] if len(v) > MAX_RECORD_BYTES]
    assert len(cut) == len(oversized) >= 6, [(x.reason, x.original_size) for x in cut]
    assert {x.reason for x in cut} == {"too_large"}
    assert sorted(x.original_size or 0 for x in cut) == sorted(map(len, oversized))
    (first,) = [x for x in cut if x.original_size == len(huge)]
    assert first.original_sha256 == hashlib.sha256(huge).hexdigest()
    assert first.original_base64 == huge[:MAX_ORIGINAL_BYTES]
    by_original = {x.original_base64: x.reason for x in letters if not x.original_truncated}
    for value, reason in nasty.items():  # every small one with the reason the pure test gives
        if len(value) <= MAX_RECORD_BYTES:
            assert by_original[value] == reason, (value[:80], by_original.get(value))


def test_the_producer_refuses_a_10_mb_record_with_an_error(kafka_bootstrap: str) -> None:
    """Our producers keep librdkafka's 1,000,000-byte message.max.bytes: a bigger value is
    refused at produce, before any broker sees it, with MSG_SIZE_TOO_LARGE; the feeds'
    Publisher counts it as too_large and goes on."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    producer = kafka.producer(settings, kafka_bootstrap)
    with pytest.raises(KafkaException, match="MSG_SIZE_TOO_LARGE"):
        producer.produce("lucent-test-too-large", b"x" * 10_000_000, b"k")
    # what every feed writes through: counted and logged, and the feed goes on
    publisher = Publisher(settings, kafka_bootstrap)
    topic = f"market.prices.binance.too-large-{time.monotonic_ns()}"
    publisher.publish(topic, b"k", b"x" * 10_000_000)
    publisher.publish(topic, b"k", b"{}")
    assert publisher.flush(30) == 0
    assert publisher.counts["too_large"] == 1 and publisher.counts["delivered"] == 1


def _partitions(settings: Settings, bootstrap: str, topic: str) -> int:
    probe = kafka.consumer(settings, bootstrap, "partitions")
    try:
        return len(probe.list_topics(topic, timeout=10).topics[topic].partitions)
    finally:
        probe.close()
