"""The benchmark commands run from a clean clone (tiny sizes: a smoke test, not a timing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def lucent(*args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-m", "lucent_platform.cli", *args],
        capture_output=True, text=True, timeout=240, env={**os.environ, **(env or {})},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    figures: dict[str, object] = json.loads(result.stdout)
    return figures


def test_bench_envelope_reports_every_codec() -> None:
    figures = lucent("bench", "envelope", "-n", "2000", "--json")
    assert {"rates", "ratios"} <= set(figures)


@pytest.mark.slow
def test_bench_feed_reports_parse_and_kafka_rates() -> None:
    figures = lucent("bench", "feed", "--frames", "500", "--json")
    for key in ("ccxt_parse_frames_per_s", "ours_parse_all_envelopes_per_s",
                "ours_to_kafka_envelopes_per_s", "produce_only_envelopes_per_s"):  # fmt: skip
        assert isinstance(figures[key], float) and figures[key] > 0
    assert figures["delivery_failures"] == 0


def test_bench_feed_dex_reports_decode_rates_against_the_decode_only_floor() -> None:
    figures = lucent("bench", "feed", "--source", "dex", "--frames", "300", "--json")
    for key in ("ours_logs_per_s", "ours_envelopes_per_s", "decode_only_logs_per_s",
                "ratio_ours_vs_decode_only"):  # fmt: skip
        assert isinstance(figures[key], float) and figures[key] > 0
    assert figures["routed_logs_per_round"] == 96 and figures["rounds"] == 4


def test_the_dex_peer_decodes_exactly_the_logs_ours_routes() -> None:
    from lucent_platform.chains.connector import ChainFrame
    from lucent_platform.recordings import read_recordings
    from streaming.bench import dex

    frames = [f for f in read_recordings(dex.DEFAULT_INPUT) if isinstance(f, ChainFrame)]
    objects = list(dex.log_objects(frames))
    routed = sum(1 for obj in objects if dex.routed(obj))
    assert dex.decode_only(objects, 2) == 2 * routed == 192
    assert set(dex.PEER_TYPES) <= set(dex.ROUTES)
    assert dex.ours(frames, 2) == 2 * dex.ours(frames, 1) > routed


@pytest.mark.slow
def test_bench_processor_measures_every_contender_and_both_brokers() -> None:
    """Tiny sizes, no Quix peer (its venv comes from PyPI): every contender processes all the
    input, the latency runs match outputs to inputs, and the issue's --json keys are there."""
    figures = lucent("bench", "processor", "-n", "3000", "--rate", "500", "--seconds", "2",
                     "--warmup", "1", "--rounds", "1", "--no-peer", "--json")  # fmt: skip
    for key in ("ours", "ceiling", "p50_ms", "p99_ms", "baseline_p50_ms", "baseline_p99_ms"):
        assert isinstance(figures[key], float) and figures[key] > 0, key
    assert figures["peer"] is None
    for name in ("ours_run", "ceiling_run", "runtime_run"):
        run = figures[name]
        assert isinstance(run, dict) and run["processed"] == 3000, name
    for where in ("tansu", "mock"):
        pair = figures[where]
        assert isinstance(pair, dict)
        for label in ("baseline", "ours"):
            assert pair[label]["samples"] > 500, (where, label)


@pytest.mark.slow
def test_bench_sink_reports_rates_and_query_latencies() -> None:
    # Small batches: the rate runs from the first rows landing to the last, so the 3,000 rows
    # must not all land in one insert (the default batch is 5,000 rows per partition).
    figures = lucent("bench", "sink", "-n", "3000", "--query-rows", "20000", "--rounds", "1",
                     "--json", env={"LUCENT_SINK_BATCH_ROWS": "100"})  # fmt: skip
    for key in ("sink_rows_per_s", "chdb_direct_rows_per_s"):
        assert isinstance(figures[key], float) and figures[key] > 0, key
    assert figures["chdb_direct_rows"] == 3000
    for query in ("top_volume_today", "yield_opportunities"):
        latency = figures[query]
        assert isinstance(latency, dict) and latency["rows"] > 0 and latency["median_ms"] > 0


@pytest.mark.slow
def test_bench_apps_measures_detection_and_end_to_end_latency() -> None:
    """Tiny sizes: the worker reports its detection latency, the reader matches opportunities
    to their opening quotes, the baseline passes every quote through, on both brokers."""
    figures = lucent("bench", "apps", "--rate", "500", "--seconds", "4", "--warmup", "0",
                     "--json")  # fmt: skip
    assert list(figures)[:4] == ["p50_ms", "p99_ms", "e2e_p99_ms", "baseline_p99_ms"]
    for key in ("p50_ms", "p99_ms", "e2e_p99_ms", "baseline_p99_ms"):
        assert isinstance(figures[key], float) and figures[key] > 0, key
    for where in ("tansu", "mock"):
        pair = figures[where]
        assert isinstance(pair, dict)
        assert pair["baseline"]["samples"] > 1000 and pair["ours"]["samples"] > 0, where
        assert pair["ours"]["detections"] > 0, where


@pytest.mark.slow
def test_bench_broker_measures_the_broker_empty_and_filled() -> None:
    rows = lucent("bench", "broker", "--fill", "0", "--fill", "3000", "--probe", "500", "--json")
    assert isinstance(rows, list) and [row["held"] for row in rows] == [0.0, 3000.0]
    empty, filled = rows
    assert empty["fetch_small_msg_s"] > 0 and filled["fetch_small_msg_s"] > 0
    assert filled["fetch_filled_msg_s"] > 0 and empty["fetch_filled_msg_s"] == 0.0  # nothing held
    assert filled["broker_rss_mb"] > 0 and all(row["transaction_ms"] > 0 for row in rows)
