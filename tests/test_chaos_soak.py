"""``lucent chaos soak``: the rows and verdict rules, and a short real run of the whole stack.

The real run is small (half a minute at 300 msg/s, a row every 10 s): it checks the report's
shape, that every raw record is accounted for, and that the exit code is the verdict's — never
the speed of this machine. The 30-minute figures are in docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lucent_platform.chaos.minutes import Minute, minute
from lucent_platform.chaos.readings import Reading, carried, rss_mb
from lucent_platform.chaos.verdict import Accounting, Drain, judge, slope
from lucent_platform.simulator.config import SimulatorConfig
from lucent_platform.simulator.rate import base_rate, multiplier_for
from lucent_platform.status.metrics_text import histogram, total

PROCESSOR_TEXT = """\
# TYPE lucent_input_latency_seconds histogram
lucent_input_latency_seconds_bucket{{worker="processor",stage="lucent-processor",le="0.01"}} {a}
lucent_input_latency_seconds_bucket{{worker="processor",stage="lucent-processor",le="0.1"}} {b}
lucent_input_latency_seconds_bucket{{worker="processor",stage="lucent-processor",le="1.0"}} {c}
lucent_input_latency_seconds_bucket{{worker="processor",stage="lucent-processor",le="+Inf"}} {c}
lucent_input_latency_seconds_count{{worker="processor",stage="lucent-processor"}} {c}
lucent_input_latency_seconds_sum{{worker="processor",stage="lucent-processor"}} 1.0
# TYPE lucent_messages_in counter
lucent_messages_in_total{{worker="processor",stage="lucent-processor",topic="t"}} {c}
# TYPE lucent_stage_events counter
lucent_stage_events_total{{worker="processor",stage="lucent-processor",event="duplicates"}} {d}
lucent_stage_events_total{{worker="processor",stage="lucent-processor",event="commit_failures"}} 0
# TYPE lucent_messages_dead_lettered counter
lucent_messages_dead_lettered_total{{worker="processor",reason="outlier"}} {e}
"""


def processor_text(a: int, b: int, c: int, d: int = 0, e: int = 0) -> str:
    return PROCESSOR_TEXT.format(a=a, b=b, c=c, d=d, e=e)


def reading(at_s: float, raw: int, normalized: int, text: str, **extra: object) -> Reading:
    values: dict[str, object] = {
        "at_s": at_s,
        "topics": {"ingested": raw, "normalized": normalized, "dead_lettered": 0, "retracted": 0},
        "metrics": {"processor": text},
        "lag": {"processor": 0},
        "states": {"processor": "running"},
        "rss_mb": {"processor": 100.0, "kafka": 30.0},
        "cpu_s": {"processor": at_s / 2, "kafka": None},
    }
    values.update(extra)
    return Reading(**values)  # type: ignore[arg-type]


def row(at_min: float, *, rss: float = 100.0, lag: int = 0, msgs_in: int = 300_000) -> Minute:
    return Minute(at_min, 60.0, msgs_in, msgs_in, 0, 80.0, 400.0, msgs_in, msgs_in,
                  {"processor": lag}, {"processor": rss, "kafka": 30.0 + 500 * at_min},
                  {"processor": 0.5}, {"commit_failures": 0})  # fmt: skip


BALANCED = Accounting(raw=100, consumed=100, normalized=90, dead_lettered=5, retracted=1,
                      duplicates=4)  # fmt: skip
DRAINED = Drain(4.0, True, {"processor": 0})


def test_metrics_text_sums_histograms_and_counters_over_matching_series() -> None:
    text = processor_text(1, 5, 10, d=3)
    assert histogram(text, "lucent_input_latency_seconds") == {0.01: 1, 0.1: 5, 1.0: 10,
                                                                float("inf"): 10}  # fmt: skip
    assert histogram(text, "lucent_input_latency_seconds", stage="other") == {}
    assert total(text, "lucent_stage_events_total", event="duplicates") == 3
    assert total(text, "lucent_messages_in_total") == 10
    assert total(text, "lucent_no_such_total") == 0


def test_a_row_holds_what_happened_between_two_readings_only() -> None:
    # 10 observations before, all under 10 ms; then 90 more, all between 0.1 s and 1 s
    before = reading(0.0, 1_000, 990, processor_text(10, 10, 10))
    states = {"processor": "running", "sink": "crashed"}
    after = reading(60.0, 4_000, 3_980, processor_text(10, 10, 100), lag={"processor": 12},
                    states=states)  # fmt: skip
    found = minute(before, after, started_s=0.0)
    assert (found.msgs_in, found.normalized, found.msgs_out) == (3_000, 2_990, 2_990)
    assert found.in_rate == 50.0
    assert found.latency_samples == 90
    assert found.p50_ms is not None and 100.0 < found.p50_ms < 1000.0  # this minute's, not all
    assert found.lag == {"processor": 12}
    assert found.errors["workers_down"] == 1
    assert found.at_min == 1.0
    assert found.cpu == {"processor": 0.5, "kafka": None}  # half a core; unknown stays unknown


def test_a_scrape_that_did_not_answer_keeps_the_last_text() -> None:
    before = reading(0.0, 0, 0, processor_text(0, 0, 500))
    silent = reading(60.0, 0, 0, "", metrics={})
    kept = carried(silent, before)
    assert kept.metrics == before.metrics
    assert minute(before, kept, 0.0).latency_samples == 0  # not its 500 again
    assert carried(before, silent).metrics == before.metrics  # an answer is never replaced


def test_a_restarted_worker_counts_from_zero() -> None:
    before = reading(0.0, 0, 0, processor_text(0, 0, 500))
    after = reading(60.0, 0, 0, processor_text(0, 0, 20))  # counters went down: a new process
    assert minute(before, after, 0.0).latency_samples == 20


def test_slope_is_least_squares_and_needs_two_points() -> None:
    assert slope([(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]) == 2.0
    assert slope([(1.0, 1.0)]) is None


def test_a_steady_run_passes_every_promise() -> None:
    rows = [row(float(m), lag=100 + (m % 3) * 50) for m in range(1, 31)]
    verdict = judge(rows, BALANCED, DRAINED, rate=5_000)
    assert verdict.passed, verdict.promises
    assert {p.name for p in verdict.promises} == {"rate", "memory flat", "lag bounded",
                                                  "accounting", "no errors"}  # fmt: skip
    assert verdict.max_lag == {"processor": 200}
    assert verdict.memory_slope["kafka"] == 500.0  # reported, but services are not judged
    assert verdict.p99_ms == [400.0] * 30


def test_memory_growing_in_the_second_half_fails() -> None:
    rows = [row(float(m), rss=100.0 + max(0, m - 15) * 3.0) for m in range(1, 31)]
    verdict = judge(rows, BALANCED, DRAINED, rate=5_000)
    memory = next(p for p in verdict.promises if p.name == "memory flat")
    assert memory.held is False and "processor +3.00" in memory.detail
    assert not verdict.passed


def test_warm_up_growth_in_the_first_half_is_not_judged() -> None:
    rows = [row(float(m), rss=100.0 + min(m, 10) * 20.0) for m in range(1, 31)]
    assert judge(rows, BALANCED, DRAINED, rate=5_000).passed


def test_memory_is_judged_after_a_warm_up_longer_than_the_first_half() -> None:
    # The processor's de-duplication windows fill for 20 minutes (2 × dedup.ttl_ms), then stay.
    filling = [row(float(m), rss=200.0 + min(m, 20) * 40.0) for m in range(1, 31)]
    assert not judge(filling, BALANCED, DRAINED, rate=5_000).passed  # minutes 15-20 still fill
    verdict = judge(filling, BALANCED, DRAINED, rate=5_000, warm_up_min=20.0)
    memory = next(p for p in verdict.promises if p.name == "memory flat")
    assert memory.held is True and "minutes 21-30" in memory.detail
    growing = [row(float(m), rss=200.0 + m * 3.0) for m in range(1, 31)]
    verdict = judge(growing, BALANCED, DRAINED, rate=5_000, warm_up_min=20.0)
    memory = next(p for p in verdict.promises if p.name == "memory flat")
    assert memory.held is False and "processor +3.00" in memory.detail  # still caught after it


def test_a_run_shorter_than_its_warm_up_leaves_memory_unjudged() -> None:
    rows = [row(float(m), rss=100.0 + m * 50.0) for m in range(1, 11)]
    verdict = judge(rows, BALANCED, DRAINED, rate=5_000, warm_up_min=20.0)
    memory = next(p for p in verdict.promises if p.name == "memory flat")
    assert memory.held is None and "warm-up" in memory.detail


def test_lag_climbing_over_the_last_third_or_never_drained_fails() -> None:
    climbing = [row(float(m), lag=m * 10_000) for m in range(1, 31)]
    verdict = judge(climbing, BALANCED, DRAINED, rate=5_000)
    lag = next(p for p in verdict.promises if p.name == "lag bounded")
    assert lag.held is False and "processor +10,000/min" in lag.detail
    steady = [row(float(m)) for m in range(1, 31)]
    stuck = Drain(180.0, False, {"clickhouse-sink": 40_000})
    lag = next(p for p in judge(steady, BALANCED, stuck, rate=5_000).promises
               if p.name == "lag bounded")  # fmt: skip
    assert lag.held is False and "clickhouse-sink" in lag.detail


def test_a_lost_or_doubled_record_fails_the_accounting() -> None:
    rows = [row(float(m)) for m in range(1, 4)]
    for books in (
        Accounting(100, 100, 89, 5, 1, 4),  # one lost
        Accounting(100, 100, 91, 5, 1, 4),  # one written twice
        Accounting(100, 99, 90, 5, 1, 4),  # the processor did not read them all
    ):
        accounting = next(p for p in judge(rows, books, DRAINED, rate=5_000).promises
                          if p.name == "accounting")  # fmt: skip
        assert accounting.held is False


def test_a_rate_below_the_wanted_one_fails_the_start_up_row_aside() -> None:
    rows = [row(1.0, msgs_in=10), *(row(float(m)) for m in range(2, 6))]
    assert judge(rows, BALANCED, DRAINED, rate=5_000).passed  # the first row is start-up
    slow = [row(float(m), msgs_in=200_000) for m in range(1, 6)]
    rate = next(p for p in judge(slow, BALANCED, DRAINED, rate=5_000).promises
                if p.name == "rate")  # fmt: skip
    assert rate.held is False and "3,333 msg/s" in rate.detail


def test_a_single_row_leaves_the_trends_unjudged() -> None:
    verdict = judge([row(0.5)], BALANCED, DRAINED, rate=5_000)
    held = {p.name: p.held for p in verdict.promises}
    assert held["memory flat"] is None
    assert held["lag bounded"] is None
    assert verdict.passed


def test_the_simulator_multiplier_is_measured_for_the_configured_market() -> None:
    small = SimulatorConfig(exchanges=("binance",), pairs=("BTC-USDT",))
    assert base_rate(small) < base_rate(SimulatorConfig())
    assert multiplier_for(1_000, small) > multiplier_for(1_000, SimulatorConfig())


def test_rss_is_read_from_proc() -> None:
    mine = rss_mb(os.getpid())
    assert mine is None or mine > 10  # no /proc: None
    assert rss_mb(2**22 + 12345) is None


@pytest.mark.slow
def test_a_short_soak_of_the_real_stack_accounts_for_every_record(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    result = subprocess.run(
        [sys.executable, "-m", "lucent_platform.cli", "chaos", "soak", "--minutes", "0.5",
         "--rate", "300", "--interval", "10", "--json", str(out)],
        env={**os.environ, "LUCENT_DATA_DIR": str(tmp_path / "data")},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.exists(), result.stdout + result.stderr
    report = json.loads(out.read_text())
    rows = report["minutes"]
    assert len(rows) >= 2
    for found in rows:
        assert {"msgs_in", "msgs_out", "p50_ms", "p99_ms", "sink_rows", "errors", "lag",
                "rss_mb"} <= set(found)  # fmt: skip
        assert {"processor", "clickhouse-sink", "feed", "kafka"} <= set(found["rss_mb"])
        assert "processor" in found["lag"]
        assert "processor" in found["cpu"]
    assert sum(found["msgs_in"] for found in rows) > 0
    books = report["accounting"]
    assert books["raw"] > 0 and books["unaccounted"] == 0 and books["consumed"] == books["raw"]
    assert report["drain"]["drained"]
    verdict = report["verdict"]
    held = {p["name"]: p["held"] for p in verdict["promises"]}
    assert held["accounting"] is True
    assert result.returncode == (0 if verdict["passed"] else 1), result.stderr
    assert "verdict:" in result.stdout and "[" in result.stdout  # the rows as they came
    assert not (tmp_path / "data" / "stack.json").exists()  # everything stopped
