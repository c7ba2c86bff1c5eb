"""``lucent status``: the snapshot's rules, and the real thing against a running stack.

The stack test starts ``lucent up``'s own ``LocalStack`` (headless, seven workers) once for the
module, reads it with ``lucent status --json`` as a user would, then kills one worker with
SIGKILL and stops another cleanly: the first shows ``crashed`` (exit -9) until the supervisor
restarts it after its 1 s back-off — then ``running`` with ``restarts`` 1 and its group
committing again — the second ``stopped``, never restarted (tests/test_supervise.py has the
back-off and give-up rules).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from lucent_platform.cli.status_screen import render
from lucent_platform.config import Settings
from lucent_platform.stack.local import LocalStack
from lucent_platform.stack.worker_records import WorkerRecord, read_records, write_records
from lucent_platform.status.gather import gather
from lucent_platform.status.metrics_text import consumer_lag, handled_total, latency_ms
from lucent_platform.status.snapshot import (
    WORKER_GROUPS,
    Snapshot,
    commit_rate,
    histogram_quantile,
    worker_state,
)

STARTED = ["feed", "processor", "clickhouse-sink", "arbitrage", "yield", "agents", "domain"]


def test_a_worker_is_running_stopped_or_crashed_by_its_process_and_exit_code() -> None:
    assert worker_state(True, None) == "running"
    assert worker_state(False, 0) == "stopped"
    assert worker_state(False, -15) == "stopped"  # ended by SIGTERM: a clean stop
    assert worker_state(False, -9) == "crashed"
    assert worker_state(False, 1) == "crashed"
    assert worker_state(False, None) == "crashed"  # gone before its supervisor saw it end
    assert worker_state(None, None) == "unknown"


def test_commit_rate_counts_what_the_group_committed_per_second() -> None:
    before = {("t", 0): 100, ("t", 1): -1001}
    after = {("t", 0): 160, ("t", 1): 50, ("u", 0): 7}
    assert commit_rate(before, after, 2.0) == 30.0  # only partitions committed both times
    assert commit_rate(before, after, 0.0) is None
    assert commit_rate({("t", 0): 10}, {("t", 0): 5}, 1.0) is None  # offsets went back


def test_histogram_quantiles_interpolate_inside_the_bucket() -> None:
    buckets = [(0.01, 50.0), (0.02, 90.0), (0.04, 100.0), (float("inf"), 100.0)]
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.01)
    assert histogram_quantile(0.7, buckets) == pytest.approx(0.015)
    assert histogram_quantile(0.99, buckets) == pytest.approx(0.038)
    assert histogram_quantile(0.5, [(0.01, 0.0), (float("inf"), 0.0)]) is None
    assert histogram_quantile(0.99, [(0.01, 1.0), (float("inf"), 10.0)]) == 0.01


def test_latency_comes_from_the_input_latency_histogram_summed_over_stages() -> None:
    text = "\n".join(
        [
            "# TYPE lucent_input_latency_seconds histogram",
            *(
                f'lucent_input_latency_seconds_bucket{{worker="w",stage="{s}",le="{le}"}} {n}'
                for s in ("a", "b")
                for le, n in (("0.01", 25), ("0.02", 45), ("0.04", 50), ("+Inf", 50))
            ),
            'lucent_input_latency_seconds_count{worker="w",stage="a"} 50',
            'lucent_input_latency_seconds_sum{worker="w",stage="a"} 0.9',
            'lucent_input_latency_seconds_count{worker="w",stage="b"} 50',
            'lucent_input_latency_seconds_sum{worker="w",stage="b"} 0.9',
        ]
    )
    p50, p99 = latency_ms(text + "\n")
    assert p50 == pytest.approx(10.0)
    assert p99 == pytest.approx(38.0)
    assert latency_ms("# TYPE other_seconds histogram\n") == (None, None)


def test_a_worker_without_a_group_is_counted_by_what_it_consumed_or_delivered() -> None:
    stage = (
        "# TYPE lucent_messages_in counter\n"
        'lucent_messages_in_total{worker="w",stage="a"} 10\n'
        'lucent_messages_in_total{worker="w",stage="b"} 5\n'
    )
    feed = (
        "# TYPE lucent_published counter\n"
        'lucent_published_total{worker="feed",stage="feed",outcome="sent"} 9\n'
        'lucent_published_total{worker="feed",stage="feed",outcome="delivered"} 7\n'
    )
    assert handled_total(stage) == 15.0
    assert handled_total(feed) == 7.0
    assert handled_total("# TYPE x counter\nx_total 1\n") is None


def test_a_worker_without_a_group_has_the_lag_its_consumers_measured() -> None:
    text = (
        "# TYPE lucent_consumer_lag gauge\n"
        'lucent_consumer_lag{worker="agents",stage="lucent-agents",topic="t",partition="0"} 3\n'
        'lucent_consumer_lag{worker="agents",stage="lucent-agents",topic="t",partition="1"} 4\n'
    )
    assert consumer_lag(text) == 7
    assert consumer_lag("# TYPE x counter\nx_total 1\n") is None


def test_worker_records_round_trip(tmp_path: Path) -> None:
    records = {"processor": WorkerRecord(42, "w.log", 1, None, 9100)}
    write_records(tmp_path, records)
    assert read_records(tmp_path) == records
    (tmp_path / "workers.json").write_text("{not json")
    assert read_records(tmp_path) == {}


def test_worker_groups_are_the_workers_own() -> None:
    import streaming.monitor as monitor
    import streaming.processor as processor
    from streaming.apps import alerts, arbitrage, patterns, yields
    from streaming.bridge import worker as bridge
    from streaming.sink import worker as sink

    assert WORKER_GROUPS == {
        "processor": processor.GROUP_ID,
        "clickhouse-sink": sink.GROUP_ID,
        "yield": yields.GROUP_ID,
        "arbitrage": arbitrage.GROUP_ID,
        "patterns": patterns.GROUP_ID,
        "alerts": alerts.GROUP_ID,
        "bridge": bridge.GROUP_ID,
        "monitor": monitor.GROUP_ID,
    }


def test_without_a_stack_status_says_how_to_start_one(settings: Settings) -> None:
    snapshot, _ = gather(settings, STARTED)
    assert not snapshot.running
    assert "lucent up" in snapshot.message
    result = _status_json(settings.data_dir)
    assert result.returncode == 1
    assert json.loads(result.stdout)["running"] is False
    screen = _screen(snapshot)
    assert "not running" in screen and "lucent up" in screen


def test_a_service_that_is_down_is_named_and_the_rest_still_shown(settings: Settings) -> None:
    stack = LocalStack(settings, with_dagster=False)
    stack.start()
    try:
        (clickhouse,) = [p for p in stack.processes if p.name.startswith("clickhouse")]
        clickhouse.stop()
        snapshot, _ = gather(settings, STARTED)
    finally:
        stack.stop()
    assert snapshot.running and snapshot.message.endswith("DOWN: clickhouse")
    services = {s.name: s for s in snapshot.services}
    assert not services["clickhouse"].up and "not reachable" in services["clickhouse"].detail
    assert services["kafka"].up and services["nats"].up and services["eventstore"].up
    assert snapshot.freshness == ()  # not asked: ClickHouse is down
    assert {w.state for w in snapshot.workers} == {"not started"}
    screen = _screen(snapshot)
    assert "DOWN" in screen and "clickhouse" in screen


def test_watch_refreshes_until_ctrl_c(settings: Settings) -> None:
    env = {**os.environ, "LUCENT_DATA_DIR": str(settings.data_dir), "COLUMNS": "200"}
    watch = subprocess.Popen(
        [sys.executable, "-m", "lucent_platform.cli", "status", "--watch", "0.2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    time.sleep(4)
    watch.send_signal(signal.SIGINT)
    output = watch.communicate(timeout=30)[0]
    assert watch.returncode == 0, output
    assert "the stack is not running" in output and "Aborted" not in output


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    data_dir = tmp_path_factory.mktemp("status") / "lucent"
    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    stack = LocalStack(settings, with_dagster=False, workers=STARTED)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.mark.slow
def test_status_shows_every_worker_running_with_its_rate_and_lag(stack: LocalStack) -> None:
    settings = stack.settings
    deadline = time.monotonic() + 120
    while True:  # until every reading worker's group has committed
        snapshot, _ = gather(settings, STARTED, rate_interval_s=1.0)
        grouped = [w for w in snapshot.workers if w.group]
        if all(w.lag is not None for w in grouped) and snapshot.freshness:
            break
        assert time.monotonic() < deadline, snapshot
        time.sleep(2)
    result = _status_json(settings.data_dir)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert {s["name"]: s["up"] for s in shown["services"]} == {
        "kafka": True, "nats": True, "clickhouse": True, "eventstore": True
    }  # fmt: skip
    workers = {w["name"]: w for w in shown["workers"]}
    from streaming.registry import WORKERS

    assert [w["name"] for w in shown["workers"]] == list(WORKERS)  # the registry's, in order
    assert {w["state"] for n, w in workers.items() if n not in STARTED} == {"not started"}
    for name in STARTED:
        assert workers[name]["state"] == "running", workers[name]
        assert workers[name]["pid"] == read_records(settings.data_dir)[name].pid
        assert {"rate", "lag", "p50_ms", "p99_ms"} <= workers[name].keys()
    for name in ("processor", "clickhouse-sink", "arbitrage", "yield"):
        assert workers[name]["group"] == WORKER_GROUPS[name]
        assert isinstance(workers[name]["lag"], int), workers[name]
        assert isinstance(workers[name]["rate"], float), workers[name]
    assert workers["feed"]["lag"] is None  # the feed writes, it commits nothing
    # Latency, and the feed's rate, come from each worker's metrics endpoint, when `lucent up`
    # gave it one (its port is in workers.json); without one they are unknown, not made up.
    if read_records(settings.data_dir)["processor"].metrics_port:
        assert workers["processor"]["p50_ms"] > 0, workers["processor"]
        assert workers["processor"]["p99_ms"] >= workers["processor"]["p50_ms"]
        assert isinstance(workers["feed"]["rate"], float), shown["notes"]
    else:
        assert workers["processor"]["p50_ms"] is None and workers["feed"]["rate"] is None
    sources = {(f["table"], f["venue"]) for f in shown["freshness"]}
    assert ("prices", "binance") in sources, sources
    screen = _screen(Snapshot(**{**snapshot.__dict__}))
    for name in STARTED:
        assert name in screen
    assert "Services" in screen and "Freshness" in screen


def test_the_monitors_open_alerts_are_shown_until_resolved(stack: LocalStack) -> None:
    import msgspec

    from lucent_platform.adapters import kafka
    from lucent_platform.messages.monitoring import MonitoringAlert
    from lucent_platform.monitoring.alerts import envelope_bytes
    from lucent_platform.topics import MONITORING_ALERTS

    settings, endpoints = stack.settings, stack.endpoints
    assert endpoints is not None
    opened = MonitoringAlert(
        alert_id="status-test", kind="stale_source", severity="warning", source="kraken",
        detail="no message for 12.0 s (expected every 0.5 s)", opened_at_ms=int(time.time() * 1000),
    )  # fmt: skip
    producer = kafka.producer(settings, endpoints.kafka_bootstrap_servers)
    producer.produce(MONITORING_ALERTS, envelope_bytes(opened), key=opened.alert_id)
    producer.flush(10)
    snapshot, _ = gather(settings, STARTED, rate_interval_s=0.1)
    assert snapshot.alerts is not None
    shown = [a for a in snapshot.alerts if a.key == "stale_source kraken"]
    assert [(a.severity, a.message) for a in shown] == [("warning", opened.detail)]
    assert "stale_source kraken" in _screen(snapshot)
    resolved = msgspec.structs.replace(opened, resolved_at_ms=opened.opened_at_ms + 1)
    producer.produce(MONITORING_ALERTS, envelope_bytes(resolved), key=opened.alert_id)
    producer.flush(10)
    snapshot, _ = gather(settings, STARTED, rate_interval_s=0.1)
    assert snapshot.alerts is not None
    assert "stale_source kraken" not in [a.key for a in snapshot.alerts]


def test_agents_and_domain_show_their_rate_lag_and_latency(stack: LocalStack) -> None:
    """Neither commits offsets as a group: their rate, lag and latency come from their metrics
    endpoints (the agents follow market.prices.all; the domain handlers one command here)."""
    import asyncio

    import nats

    from lucent_platform.domain import bridge, commands
    from lucent_platform.topics import YIELD_OPPORTUNITIES
    from tests.domain_flow import yield_signal

    settings, endpoints = stack.settings, stack.endpoints
    assert endpoints is not None
    if not read_records(settings.data_dir)["domain"].metrics_port:
        pytest.skip("lucent up gave the workers no metrics ports")
    record, _ = yield_signal("status-pool")
    command = bridge.command_for(YIELD_OPPORTUNITIES, 0, 0, record, int(time.time() * 1000))

    async def publish() -> None:
        client = await nats.connect(endpoints.nats_url)
        try:
            js = client.jetstream()
            deadline = time.monotonic() + 60
            while True:  # the domain worker provisions its stream at start
                try:
                    await js.publish(command.type, commands.encode(command))
                    return
                except nats.js.errors.NoStreamResponseError:
                    assert time.monotonic() < deadline, "the SIGNALS stream never appeared"
                    await asyncio.sleep(0.5)
        finally:
            await client.close()

    asyncio.run(publish())
    deadline = time.monotonic() + 120
    while True:
        snapshot, _ = gather(settings, STARTED, rate_interval_s=1.0)
        workers = {w.name: w for w in snapshot.workers}
        if all(workers[n].p50_ms is not None and workers[n].lag is not None
               for n in ("agents", "domain")):  # fmt: skip
            break
        assert time.monotonic() < deadline, workers
        time.sleep(1)
    shown = {w["name"]: w for w in json.loads(_status_json(settings.data_dir).stdout)["workers"]}
    for name in ("agents", "domain"):
        assert shown[name]["state"] == "running" and shown[name]["group"] is None, shown[name]
        assert isinstance(shown[name]["rate"], float), shown[name]
        assert isinstance(shown[name]["lag"], int), shown[name]
        assert shown[name]["p99_ms"] >= shown[name]["p50_ms"] > 0, shown[name]
    assert shown["domain"]["lag"] == 0  # the one command handled, nothing pending


def test_a_killed_worker_is_restarted_and_a_stopped_one_stays_stopped(stack: LocalStack) -> None:
    settings = stack.settings
    deadline = time.monotonic() + 120
    while True:  # both running their loops (committed once), so SIGTERM finds its handler
        snapshot, _ = gather(settings, STARTED, rate_interval_s=0.5)
        if all(w.lag is not None for w in snapshot.workers if w.name in ("arbitrage", "yield")):
            break
        assert time.monotonic() < deadline, snapshot.workers
        time.sleep(1)
    killed = read_records(settings.data_dir)["arbitrage"].pid
    os.kill(killed, signal.SIGKILL)
    killed_at = time.monotonic()
    (stopped,) = [p for p in stack.processes if p.name == "worker yield"]
    stopped.stop()  # SIGTERM: the worker flushes, commits and exits 0
    time.sleep(0.5)
    # Before the supervisor has looked: the process is gone, its exit code not yet known.
    snapshot, _ = gather(settings, STARTED, rate_interval_s=0.5)
    states = {w.name: w.state for w in snapshot.workers}
    assert states["arbitrage"] == "crashed"
    assert states["processor"] == "running"
    # The supervisor (`lucent up`'s loop) sees both exits: it restarts the crashed worker after
    # its first back-off (1 s) and leaves the stopped one alone (exit code 1: one stays down).
    assert stack.supervise(seconds=3.0) == 1
    result = _status_json(settings.data_dir)
    workers = {w["name"]: w for w in json.loads(result.stdout)["workers"]}
    arbitrage = workers["arbitrage"]
    assert (arbitrage["state"], arbitrage["restarts"], arbitrage["exit_code"]) == (
        "running", 1, None
    ), arbitrage  # fmt: skip
    assert arbitrage["pid"] != killed
    assert (workers["yield"]["state"], workers["yield"]["exit_code"]) == ("stopped", 0)
    assert workers["yield"]["restarts"] == 0
    assert workers["processor"]["state"] == "running"
    assert workers["processor"]["restarts"] == 0
    # Its data continues: the group commits again once the new process has joined.
    deadline = time.monotonic() + 120
    while True:
        snapshot, _ = gather(settings, STARTED, rate_interval_s=2.0)
        (restarted,) = [w for w in snapshot.workers if w.name == "arbitrage"]
        if restarted.rate:
            break
        assert time.monotonic() < deadline, restarted
    print(
        f"\narbitrage SIGKILLed: running again with restarts=1, committing "
        f"{restarted.rate:.1f} msg/s {time.monotonic() - killed_at:.1f} s after the kill"
    )
    screen = _screen(snapshot)
    assert "restarts" in screen and "stopped (exit 0)" in screen


def _status_json(data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LUCENT_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "lucent_platform.cli", "status", "--json"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _screen(snapshot: Snapshot) -> str:
    console = Console(record=True, width=200, color_system=None)
    console.print(render(snapshot))
    return console.export_text()
