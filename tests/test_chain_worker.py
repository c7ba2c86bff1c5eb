"""``lucent worker chain`` (and ``lucent up``'s choice to start it) against a local node."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings, with_overrides
from lucent_platform.envelope import decode
from lucent_platform.topics import raw_topic
from streaming.registry import startable
from tests.fixtures.jsonrpc import JsonRpcNode, recorded_logs
from tests.test_chain_feed import BLOCK, UNISWAP_LOGS, _registered, expected, ids


def test_lucent_up_starts_the_chain_worker_only_when_chains_are_configured(
    settings: Settings,
) -> None:
    assert "chain" not in startable(settings)
    configured = with_overrides(settings, chains={"ethereum": {"rpc_url": "http://127.0.0.1:1"}})
    assert "chain" in startable(configured)


def test_the_chain_worker_publishes_the_recorded_block(
    jsonrpc_node: JsonRpcNode, own_broker: str, tmp_path: Path
) -> None:
    logs = recorded_logs(UNISWAP_LOGS)
    jsonrpc_node.add_logs(logs)
    jsonrpc_node.set_head(BLOCK + 12)
    wanted = expected(_registered(logs), jsonrpc_node)
    chains = {"ethereum": {"rpc_url": jsonrpc_node.url, "start_block": BLOCK, "poll_seconds": 0.2}}
    env = {
        **os.environ,
        "LUCENT_DATA_DIR": str(tmp_path),
        "LUCENT_KAFKA_BOOTSTRAP_SERVERS": own_broker,
        "LUCENT_CHAINS": json.dumps(chains),
        # The chain worker needs only Kafka; the other services are named, never contacted.
        "LUCENT_NATS_URL": "nats://127.0.0.1:9",
        "LUCENT_CLICKHOUSE_URL": "http://127.0.0.1:9",
        "LUCENT_EVENTSTORE_PATH": str(tmp_path / "events.sqlite"),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "lucent_platform.cli", "worker", "chain"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    topics = sorted({raw_topic(e.header.message_type, e.data) for e in wanted})
    deadline = time.monotonic() + 60
    got: list[str] = []
    try:
        while time.monotonic() < deadline and len(got) < len(wanted):
            time.sleep(0.5)
            got = [
                decode(record.value or b"").header.message_id
                for topic in topics
                if topic in {t.topic for t in kafka.describe_topics(settings, own_broker)}
                for record in kafka.read_topic(settings, own_broker, topic, idle_timeout=0.3)
            ]
    finally:
        worker.send_signal(signal.SIGTERM)
        log = worker.communicate(timeout=60)[0].decode()
    assert worker.returncode == 0, log
    assert sorted(got) == sorted(ids(wanted)), log[-2000:]
    assert "chain ethereum: head 11017350, processed 11017338, lag 12 blocks" in log
