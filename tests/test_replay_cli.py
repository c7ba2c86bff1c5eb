"""`lucent replay`: recorded exchange traffic through the real connectors, to stdout or Kafka."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings
from lucent_platform.envelope import decode
from tests.market_fixtures import MARKET, jsonl


def replay(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "lucent_platform.cli", "replay", *args],
        capture_output=True, timeout=180, env={**os.environ, **(env or {})},
    )  # fmt: skip


def stdout_envelopes(path: Path, *extra: str) -> tuple[bytes, list[Any]]:
    result = replay(str(path), "--to", "stdout", "--fast", *extra)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout, [decode(line) for line in result.stdout.splitlines()]


@pytest.mark.slow
def test_binance_native_recordings_replay_field_by_field() -> None:
    raw, envelopes = stdout_envelopes(MARKET / "binance")
    trades = [e for e in envelopes if e.header.message_type == "trade"]
    recorded = [m["data"] for m in jsonl("binance/ws_aggTrade.jsonl")]
    assert len(trades) == len(recorded) + 1  # + the single pretty-printed ws_trade_sample.json
    by_id = {(t.data.pair, t.data.trade_id): t for t in trades}
    for frame in recorded:
        pair = {"BTCUSDT": "BTC-USDT", "ETHUSDT": "ETH-USDT", "DOTUSDT": "DOT-USDT"}[frame["s"]]
        trade = by_id[(pair, str(frame["a"]))]
        assert trade.data.price == float(frame["p"]) and trade.data.amount == float(frame["q"])
        assert trade.data.side == ("sell" if frame["m"] else "buy")
        assert trade.header.event_time_ms == frame["T"]
    deltas = [e for e in envelopes if e.header.message_type == "orderbook_delta"]
    updates = jsonl("binance/ws_depthUpdate.jsonl")
    assert len(deltas) == len(updates)
    first = deltas[0].data
    frame = updates[0]["data"]
    assert [(lvl[0], lvl[1]) for lvl in first.bids] == [(float(p), float(q)) for p, q in frame["b"]]
    snapshots = [e for e in envelopes if e.header.message_type == "orderbook_snapshot"]
    assert {s.data.pair for s in snapshots} == {"BTC-USDT", "ETH-USDT", "DOT-USDT"}
    # The same recording always yields the same bytes (message ids from the recording).
    again, _ = stdout_envelopes(MARKET / "binance")
    assert again == raw


@pytest.mark.slow
def test_coinbase_and_kraken_recordings_replay(tmp_path: Path) -> None:
    _, coinbase = stdout_envelopes(MARKET / "coinbase")
    tickers = [e for e in coinbase if e.header.message_type == "price_update"]
    recorded = [m for m in jsonl("coinbase/ws_ticker.jsonl")]
    assert [t.data.price for t in tickers] == [float(m["price"]) for m in recorded]
    _, kraken = stdout_envelopes(MARKET / "kraken")
    kinds = {e.header.message_type for e in kraken}
    assert {"price_update", "trade", "orderbook_snapshot", "orderbook_delta"} <= kinds


def test_replay_into_kafka_lands_on_the_raw_topics(
    kafka_bootstrap: str, settings: Settings, tmp_path: Path
) -> None:
    result = replay(
        str(MARKET / "binance" / "ws_aggTrade.jsonl"), "--fast",
        env={"LUCENT_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "LUCENT_DATA_DIR": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert b"replayed 600 frames" in result.stderr
    counts = {i.topic: i.messages for i in kafka.describe_topics(settings, kafka_bootstrap)}
    recorded = jsonl("binance/ws_aggTrade.jsonl")
    for symbol, topic in [("BTCUSDT", "market.trades.binance.btc-usdt"),
                          ("ETHUSDT", "market.trades.binance.eth-usdt")]:  # fmt: skip
        assert counts[topic] >= sum(m["data"]["s"] == symbol for m in recorded)


def test_a_missing_path_and_an_unknown_venue_are_clear_errors(tmp_path: Path) -> None:
    result = replay(str(tmp_path / "nope.jsonl"), "--to", "stdout")
    assert result.returncode != 0 and b"does not exist" in result.stderr
    odd = tmp_path / "odd.jsonl"
    odd.write_text(json.dumps({"hello": "world"}) + "\n")
    result = replay(str(odd), "--to", "stdout")
    assert result.returncode != 0 and b"pass --exchange" in result.stderr
