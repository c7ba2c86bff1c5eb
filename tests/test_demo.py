"""``lucent demo``: runs the platform headless and reports every stage as one JSON object."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lucent_platform.adapters.kafka import TopicInfo
from lucent_platform.stage_report import StageReport, count_stages, percentiles


def test_demo_json_reports_every_stage(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lucent_platform.cli", "demo", "--seconds", "1", "--json"],
        env={**os.environ, "LUCENT_DATA_DIR": str(tmp_path)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    report = json.loads(result.stdout)
    assert set(report["stages"]) >= {"ingested", "normalized", "dead_lettered"}
    assert set(report["latency_ms"]) >= {"p50", "p99"}
    assert result.returncode == (1 if report["silent"] else 0), result.stderr
    assert not (tmp_path / "stack.json").exists()  # everything stopped


def test_stage_counts_come_from_the_topics_each_stage_writes() -> None:
    infos = [
        TopicInfo("market.prices.binance.eth-usdc", 1, 10),
        TopicInfo("market.trades.kraken.btc-usdt", 1, 5),
        TopicInfo("market.liquidations.aave", 1, 2),
        TopicInfo("market.prices.all", 6, 14),
        TopicInfo("market.liquidations.all", 6, 2),
        TopicInfo("market.deadletter", 3, 1),
        TopicInfo("arbitrage.opportunities", 3, 4),
        TopicInfo("lucent.checkpoints", 1, 99),
    ]
    stages = count_stages(infos)
    assert stages["ingested"] == 17
    assert stages["normalized"] == 16
    assert stages["dead_lettered"] == 1
    assert stages["arbitrage_opportunities"] == 4
    assert stages["price_alerts"] == 0


def test_a_silent_expected_stage_fails_the_demo() -> None:
    report = StageReport(
        {"ingested": 5, "normalized": 0}, percentiles([]), ["ingested", "normalized"]
    )
    assert report.silent_stages == ["normalized"]
    assert percentiles([5.0, 1.0, 3.0])["p50"] == 3.0


def test_dead_letters_are_summarised_by_reason() -> None:
    from lucent_platform.stage_report import dead_letter_reasons, example_values

    letters = [b'{"reason": "outlier"}', b'{"reason": "undecodable"}', b'{"reason": "outlier"}']
    assert dead_letter_reasons([*letters, None, b"not json"]) == [
        {"reason": "outlier", "count": 2},
        {"reason": "undecodable", "count": 1},
    ]
    assert example_values([b'{"a": 1}', None]) == [{"a": 1}]


def test_replay_latency_starts_when_the_feed_wrote_the_raw_record() -> None:
    """A replay's receive times are the recording's (years ago): latency is then measured
    from the raw record's Kafka timestamp, matched by message id."""
    from lucent_platform.envelope import Envelope, Header, Metadata, encode
    from lucent_platform.messages import Trade
    from lucent_platform.stage_report import end_to_end_latency, ingest_times

    def trade(message_id: str) -> bytes:
        header = Header(message_id, "2021-04-04T20:03:34.733Z", "binance-websocket", "trade",
                        "1.0", 1_617_566_614_733, 1_617_566_614_734)  # fmt: skip
        data = Trade(exchange="binance", pair="BTC-USDT", price=58_000.0, amount=0.1)
        return encode(Envelope(header, data, Metadata(1.0, 1.0, "high")))

    now = 1_795_000_000_000
    raw = [(now, trade("a")), (now + 5, trade("b")), (now + 9, None)]
    normalized = [(now + 40, trade("a")), (now + 25, trade("b")), (now + 30, trade("c"))]
    assert end_to_end_latency(normalized, ingest_times(raw)) == [40.0, 20.0]  # "c": no raw
    years = end_to_end_latency(normalized[:1])
    assert years[0] > 5 * 365 * 86_400_000  # what receive times would have said
