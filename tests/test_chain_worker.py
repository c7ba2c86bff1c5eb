"""``lucent worker chain`` (and ``lucent up``'s choice to start it) against a local node."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings, with_overrides
from lucent_platform.envelope import Envelope, decode
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


@pytest.mark.slow
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


def test_lucent_record_chains_writes_lines_that_replay_to_the_live_envelopes(
    jsonrpc_node: JsonRpcNode, tmp_path: Path
) -> None:
    import asyncio

    from eth_abi import encode

    from lucent_platform.chains import connector as calls
    from lucent_platform.chains.config import chains_config, known_contracts
    from streaming.feeds.chain import ChainFeed
    from tests.test_chain_feed import YFI_ETH_FEED

    yfi_weth = "0x2fdbadf3c4d5a8666bc06645b8358ab803996e28"  # not in the registry
    jsonrpc_node.add_logs(recorded_logs(UNISWAP_LOGS))
    word = "0x" + "00" * 12
    round_168 = encode(
        ["uint80", "int256", "uint256", "uint256", "uint80"],
        [168, 48564850663303835000, 1602193349, 1602193349, 168],
    )
    jsonrpc_node.calls.update(
        {
            (yfi_weth, calls.TOKEN0): word + "0bc529c00c6401aef6d220be8c6ea1667f6ad93e",
            (yfi_weth, calls.TOKEN1): word + "c02aaa39b223fe8d0a0e5c4f27ead9083c756cc2",
            (yfi_weth, calls.FACTORY): word + "5c69bee701ef814a2b6a3edd4b1652cb9cc5aa6f",
            (YFI_ETH_FEED, calls.LATEST_ROUND_DATA): "0x" + round_168.hex(),
        }
    )
    jsonrpc_node.set_head(BLOCK)
    addresses = [*known_contracts("ethereum", ["dex", "oracles"]), yfi_weth]
    chain = {
        "rpc_url": jsonrpc_node.url,
        "start_block": BLOCK - 1,
        "confirmations": 0,
        "poll_seconds": 0.1,
        "addresses": addresses,
        "sources": ["dex", "oracles"],
    }
    live: list[Envelope[Any]] = []
    feed = ChainFeed(chains_config({"ethereum": chain})["ethereum"], sink=live.append)
    asyncio.run(
        feed.run(
            lambda: (
                feed.gauges.get("processed_block") == BLOCK and bool(feed.counts["polled_calls"])
            )
        )
    )

    out = tmp_path / "chain.jsonl"
    env = {
        **os.environ,
        "LUCENT_DATA_DIR": str(tmp_path),
        "LUCENT_CHAINS": json.dumps({"ethereum": chain}),
    }
    record = subprocess.run(
        [sys.executable, "-m", "lucent_platform.cli", "record", "--chains", "ethereum",
         "--out", str(out), "--seconds", "6"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert record.returncode == 0, record.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines and all(line["chain"] == "ethereum" for line in lines)
    assert {tuple(sorted(line)) for line in lines} == {
        ("chain", "message", "received_ns"),
        ("chain", "message", "received_ns", "request"),
    }
    methods = {line["request"]["method"] for line in lines if "request" in line}
    assert {"eth_chainId", "eth_blockNumber", "eth_getBlockByNumber", "eth_call"} <= methods

    replay = subprocess.run(
        [sys.executable, "-m", "lucent_platform.cli", "replay", str(out),
         "--to", "stdout", "--fast"],
        env=env, capture_output=True, timeout=60,
    )  # fmt: skip
    assert replay.returncode == 0, replay.stderr
    replayed = [decode(line) for line in replay.stdout.splitlines() if line.strip()]
    assert sorted((e.header.message_id, encode_data(e)) for e in replayed) == sorted(
        (e.header.message_id, encode_data(e)) for e in live
    )
    assert any(e.data.pair == "YFI-WETH" for e in replayed)  # the learnt pool, priced
    assert any(e.data.pair == "YFI-ETH" for e in replayed)  # the polled Chainlink round


def encode_data(envelope: Envelope[Any]) -> bytes:
    import msgspec

    return msgspec.json.encode(envelope.data)


def test_lucent_record_names_a_chain_that_is_not_configured(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lucent_platform.cli.main import cli

    chains = json.dumps({"ethereum": {"rpc_url": "http://127.0.0.1:9"}})
    result = CliRunner().invoke(
        cli,
        ["record", "--chains", "base", "--out", str(tmp_path / "x.jsonl"), "--seconds", "1"],
        env={"LUCENT_CHAINS": chains, "LUCENT_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code == 1
    assert "chain(s) ['base'] not in LUCENT_CHAINS (configured: ['ethereum'])" in result.output
