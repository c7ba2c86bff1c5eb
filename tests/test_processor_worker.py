"""`lucent worker processor` end to end on a broker of its own: simulated raw data with every
injected anomaly in, normalized streams and dead letters out, every message accounted for."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings
from lucent_platform.processing.deadletter import decode as decode_dead_letter
from lucent_platform.simulator import MarketSimulator, SimulatorConfig
from lucent_platform.topics import DEADLETTER, Kind, normalized
from streaming.publisher import Publisher
from tests.worker_process import provision_fixed_topics, start_worker, worker_env

START_MS = 1_795_000_000_000


def test_processor_accounts_for_every_message(own_broker: str, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    provision_fixed_topics(settings, own_broker)
    simulator = MarketSimulator(
        SimulatorConfig(pairs=("BTC-USDT", "ETH-USDC"), rate_multiplier=2.0), start_ms=START_MS
    )
    publisher = Publisher(settings, own_broker)
    malformed: set[bytes] = set()
    injected: dict[str, int] = {}
    sent = 0
    for message in simulator.run(120_000):
        publisher.publish(message.topic, message.key, message.value)
        sent += 1
        if message.injected:
            injected[message.injected] = injected.get(message.injected, 0) + 1
        if message.injected == "malformed":
            malformed.add(message.value)
    assert publisher.flush(30) == 0
    assert injected.get("malformed") and injected.get("duplicate") and injected.get("outlier")

    # The processor needs only Kafka; the other services are named, never contacted.
    log_file = tmp_path / "processor.log"
    worker = start_worker("processor", worker_env(tmp_path, own_broker), log_file)
    outputs = [normalized(kind) for kind in Kind] + [DEADLETTER]
    deadline = time.monotonic() + 90
    counts: dict[str, int] = {}
    try:
        while time.monotonic() < deadline:
            counts = {i.topic: i.messages for i in kafka.describe_topics(settings, own_broker)}
            out = sum(counts.get(topic, 0) for topic in outputs)
            if out >= sent - injected["duplicate"]:
                break
            time.sleep(1)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
        log = log_file.read_text()
    assert worker.returncode == 0, log

    dead = counts.get(DEADLETTER, 0)
    normalized_count = sum(counts.get(normalized(kind), 0) for kind in Kind)
    # in = normalized + dead-lettered + duplicates dropped, exactly
    assert normalized_count + dead + injected["duplicate"] == sent, (counts, injected, log[-2000:])
    letters = [
        decode_dead_letter(r.value or b"")
        for r in kafka.read_topic(settings, own_broker, DEADLETTER, limit=10_000)
    ]
    assert len(letters) == dead
    originals = {letter.original_base64 for letter in letters}
    assert malformed <= originals  # every malformed message kept byte for byte
    reasons = {letter.reason for letter in letters}
    assert "outlier" in reasons or "crossed_quote" in reasons, reasons
    assert all(letter.source_topic.startswith("market.") for letter in letters)
