"""The lineage as the Dagster UI serves it: the webserver's GraphQL API, edge by edge.

``dagster-webserver`` runs on ``workspace.yaml`` (the code location ``lucent up`` serves) with a
temporary DAGSTER_HOME, read-only and without the daemon, so no schedule can launch a run
while the test reads. Its asset graph must read feeds → raw topics → normalized topics →
signals → ClickHouse → datasets → models, and its schedules and sensors must be on by default.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lucent_platform import topics
from lucent_platform.analytics.schema import TABLES
from lucent_platform.simulator.config import DEFAULT_POOLS
from lucent_platform.stack import StackError
from lucent_platform.stack.ports import LOOPBACK, free_port
from lucent_platform.stack.process import ServiceProcess
from lucent_platform.stack.services import code_location_loaded

pytestmark = pytest.mark.slow  # starts the webserver: ~30-60 s on a loaded 2-core box

ROOT = Path(__file__).resolve().parents[1]
EXCHANGES = ["binance", "kraken"]
PAIRS = ["BTC-USDT", "ETH-USDC"]

SCHEDULES = {"history_daily_schedule", "quality_checks_hourly"}
SENSORS = {"instrument_partitions_sensor", "stream_observations_sensor"}

_ASSETS = "{ assetNodes { assetKey { path } dependencyKeys { path } dependedByKeys { path } } }"
_INSTIGATORS = """{ repositoriesOrError { __typename
  ... on RepositoryConnection { nodes { name location { name }
    schedules { name defaultStatus scheduleState { status } }
    sensors { name defaultStatus sensorState { status } } } }
  ... on PythonError { message } } }"""


@dataclass
class Served:
    url: str
    process: ServiceProcess

    def query(self, text: str) -> dict:
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
        assert "errors" not in answer, (answer["errors"], self.log_tail())
        return dict(answer["data"])

    def log_tail(self, lines: int = 40) -> str:
        text = self.process.log_path.read_text(errors="replace") if self.process.log_path else ""
        return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("dagster-home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = free_port()
    env = {
        "DAGSTER_HOME": str(home),
        "LUCENT_DATA_DIR": str(tmp_path_factory.mktemp("lucent-data")),
        "LUCENT_FEED": "simulate",
        "LUCENT_EXCHANGES": ",".join(EXCHANGES),
        "LUCENT_PAIRS": ",".join(PAIRS),
    }
    url = f"http://{LOOPBACK}:{port}"
    process = ServiceProcess(
        name="dagster-webserver",
        argv=[
            sys.executable, "-m", "dagster_webserver", "-w", str(ROOT / "workspace.yaml"),
            "-h", LOOPBACK, "-p", str(port), "--read-only",
        ],
        env=env,
        cwd=ROOT,
        log_path=home / "webserver.log",
        ready=lambda: code_location_loaded(url),
        # generous: the code location imports Dagster, pandas, sklearn … on a shared 2-core box
        ready_timeout=float(os.environ.get("LUCENT_TEST_DAGSTER_READY_S", "240")),
        stop_timeout=15.0,
    )  # fmt: skip
    process.start()
    server = Served(url, process)
    try:
        failure = None
        try:
            process.wait_ready()
        except StackError as exc:
            failure = f"{exc}\n--- webserver log tail ---\n{server.log_tail()}"
        if failure:
            pytest.fail(failure, pytrace=False)
        yield server
    finally:
        process.stop()


@pytest.fixture(scope="module")
def graph(served: Served) -> dict[str, dict[str, set[str]]]:
    """Each served asset node's upstream and downstream keys, as ``a/b`` strings."""
    nodes = served.query(_ASSETS)["assetNodes"]

    def keys(entries: list[dict]) -> set[str]:
        return {"/".join(entry["path"]) for entry in entries}

    return {
        "/".join(node["assetKey"]["path"]): {
            "up": keys(node["dependencyKeys"]),
            "down": keys(node["dependedByKeys"]),
        }
        for node in nodes
    }


def _assert_edges(graph: dict[str, dict[str, set[str]]], *chain: str) -> None:
    for upstream, downstream in itertools.pairwise(chain):
        assert upstream in graph, f"{upstream} is not served"
        assert downstream in graph, f"{downstream} is not served"
        assert upstream in graph[downstream]["up"], f"no edge {upstream} → {downstream}"
        assert downstream in graph[upstream]["down"], f"{upstream} does not list {downstream}"


def test_prices_run_from_every_feed_to_arbitrage_and_the_baseline_model(graph: dict) -> None:
    for exchange, pair in itertools.product(EXCHANGES, PAIRS):
        raw = f"kafka/{topics.prices(exchange, pair)}"
        _assert_edges(graph, f"feeds/{exchange}", raw, "kafka/market.prices.all")
    _assert_edges(
        graph,
        "kafka/market.prices.all",
        "kafka/arbitrage.opportunities",
        "clickhouse/arbitrage_opportunities",
    )
    _assert_edges(
        graph,
        "kafka/market.prices.all",
        "clickhouse/prices",
        "datasets/features",
        "models/baseline",
    )
    _assert_edges(graph, "kafka/market.trades.all", "clickhouse/trades", "datasets/features")
    # only the configured instruments are drawn
    assert f"kafka/{topics.prices('coinbase', 'BTC-USDT')}" not in graph
    assert "feeds/coinbase" not in graph


def test_yields_run_from_the_simulated_pools_to_their_opportunities_table(graph: dict) -> None:
    for pool in DEFAULT_POOLS:
        raw = f"kafka/{topics.yields(pool.protocol, pool.pool)}"
        _assert_edges(graph, f"feeds/{pool.protocol}", raw, "kafka/market.yields.all")
    _assert_edges(
        graph,
        "kafka/market.yields.all",
        "kafka/yield.opportunities",
        "clickhouse/yield_opportunities",
    )
    _assert_edges(graph, "kafka/market.yields.all", "clickhouse/yields", "datasets/features")


def test_the_archive_reads_every_raw_table(graph: dict) -> None:
    assert {f"clickhouse/{table}" for table in TABLES} == graph["archive/raw_tables"]["up"]
    for table in TABLES:
        assert f"clickhouse/{table}" in graph
        assert "archive/raw_tables" in graph[f"clickhouse/{table}"]["down"]
    # every edge points at a served node: nothing in the graph dangles
    for key, node in graph.items():
        assert node["up"] <= graph.keys(), (key, node["up"] - graph.keys())


def test_schedules_and_sensors_are_served_and_on_by_default(served: Served) -> None:
    from lucent_platform.definitions import defs

    for name in SCHEDULES:
        assert defs.resolve_schedule_def(name).default_status.value == "RUNNING", name
    for name in SENSORS:
        assert defs.resolve_sensor_def(name).default_status.value == "RUNNING", name
    answer = served.query(_INSTIGATORS)["repositoriesOrError"]
    assert answer["__typename"] == "RepositoryConnection", answer
    (repository,) = [r for r in answer["nodes"] if r["location"]["name"] == "lucent"]
    schedules = {s["name"]: s for s in repository["schedules"]}
    sensors = {s["name"]: s for s in repository["sensors"]}
    assert set(schedules) == SCHEDULES
    assert set(sensors) == SENSORS
    for schedule in schedules.values():
        assert schedule["defaultStatus"] == "RUNNING", schedule
        assert schedule["scheduleState"]["status"] == "RUNNING", schedule
    for sensor in sensors.values():
        assert sensor["defaultStatus"] == "RUNNING", sensor
        assert sensor["sensorState"]["status"] == "RUNNING", sensor
