"""The simulator feed into the real broker, as `lucent feed simulate` and `lucent up` run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings


def test_feed_simulate_fills_the_raw_topics(
    kafka_bootstrap: str, settings: Settings, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "LUCENT_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "LUCENT_DATA_DIR": str(tmp_path),
        "LUCENT_PAIRS": "BTC-USDT,ETH-USDC",
        "LUCENT_SIMULATOR_RATE": "5",
    }
    result = subprocess.run(
        [sys.executable, "-m", "lucent_platform.cli", "feed", "simulate", "--seconds", "3"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    published = int(result.stdout.split("published ")[1].split()[0])
    counts = {i.topic: i.messages for i in kafka.describe_topics(settings, kafka_bootstrap)}
    for venue in ("binance", "coinbase", "kraken"):
        for kind in ("prices", "trades", "orderbook"):
            assert counts.get(f"market.{kind}.{venue}.btc-usdt", 0) > 0, (kind, venue)
    assert any(topic.startswith("market.yields.") and n for topic, n in counts.items())
    raw = sum(n for topic, n in counts.items() if topic.startswith("market."))
    assert raw >= published  # nothing the simulator published is missing on the broker
