"""Every worker's Prometheus endpoint, scraped over HTTP while real workers run: the processor,
the ClickHouse sink and the feed as ``lucent worker NAME`` starts them (their own processes,
``LUCENT_METRICS_PORT`` set), fed through the real broker; the counters move between scrapes.
Also: ``lucent up`` gives each worker a port of its own, a busy port stops a worker naming the
setting, and a live venue feed's connection health (against a local exchange) shows up."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from prometheus_client.parser import text_string_to_metric_families

from lucent_platform.config import Settings
from lucent_platform.envelope import encode
from lucent_platform.simulator import MarketSimulator, SimulatorConfig
from lucent_platform.stack.errors import StackError
from lucent_platform.stack.local import LocalStack
from lucent_platform.stack.ports import LOOPBACK, free_port, metrics_ports
from lucent_platform.topics import YIELD_OPPORTUNITIES
from streaming.exposed import expose
from streaming.metrics_server import serve
from streaming.publisher import Publisher
from tests.domain_flow import bridge_in_thread, provision_topics, yield_signal
from tests.domain_flow import produce as produce_records
from tests.exchange_server import ExchangeServer, Script
from tests.fixtures.clickhouse import EmbeddedClickHouse
from tests.test_clickhouse_sink import TRADES, produce, recorded_trades, sink_env, start_sink
from tests.test_live_feed import DEPTH_BODY, binance_ack, binance_frames, collecting_feed
from tests.worker_process import provision_fixed_topics, start_worker, worker_env

if TYPE_CHECKING:
    from clickhouse_connect.driver import Client

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(port: int) -> Samples:
    text = urllib.request.urlopen(f"http://{LOOPBACK}:{port}/metrics", timeout=5).read().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def wait_for_scrape(
    port: int, worker: subprocess.Popen[bytes], ready: Callable[[Samples], bool], what: str
) -> Samples:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert worker.poll() is None, f"worker exited with {worker.returncode} before {what}"
        try:
            samples = scrape(port)
        except (urllib.error.URLError, ConnectionError):
            samples = {}
        if samples and ready(samples):
            return samples
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def stopped_at_end() -> Iterator[list[subprocess.Popen[bytes]]]:
    workers: list[subprocess.Popen[bytes]] = []
    yield workers
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(60) == 0


def metrics_env(tmp_path: Path, bootstrap: str, port: int) -> dict[str, str]:
    """A worker's environment (tests/worker_process.py) with its metrics endpoint on ``port``."""
    return worker_env(tmp_path, bootstrap, LUCENT_METRICS_PORT=str(port))


def test_processor_metrics_move_with_its_input(
    own_broker: str, tmp_path: Path, stopped_at_end: list[subprocess.Popen[bytes]]
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    provision_fixed_topics(settings, own_broker)
    simulator = MarketSimulator(SimulatorConfig(pairs=("BTC-USDT",)), start_ms=1_795_000_000_000)
    messages = list(simulator.run(20_000))
    first, second = messages[: len(messages) // 2], messages[len(messages) // 2 :]
    publisher = Publisher(settings, own_broker)
    for message in first:
        publisher.publish(message.topic, message.key, message.value)
    assert publisher.flush(30) == 0

    port = free_port()
    worker = start_worker("processor", metrics_env(tmp_path, own_broker, port), tmp_path / "w.log")
    stopped_at_end.append(worker)
    stage = {"worker": "processor", "stage": "lucent-processor"}

    def consumed(n: int) -> Callable[[Samples], bool]:
        return lambda s: total(s, "lucent_messages_in_total", **stage) >= n

    before = wait_for_scrape(port, worker, consumed(len(first)), "the first half consumed")
    for message in second:
        publisher.publish(message.topic, message.key, message.value)
    assert publisher.flush(30) == 0
    after = wait_for_scrape(port, worker, consumed(len(messages)), "the second half consumed")

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **stage, **labels) - total(before, name, **stage, **labels)

    assert moved("lucent_messages_in_total") == len(second)
    assert moved("lucent_messages_out_total") > 0
    assert moved("lucent_stage_events_total", event="batches") > 0
    assert moved("lucent_input_latency_seconds_count") > 0
    assert moved("lucent_batch_duration_seconds_count") > 0
    assert moved("lucent_input_latency_seconds_bucket", le="+Inf") == moved(
        "lucent_input_latency_seconds_count"
    )
    # The processor's own accounting, read from the endpoint: in = normalized + dead-lettered
    # (by reason) + duplicates dropped.
    events = {
        dict(labels)["event"]: v
        for (name, labels), v in after.items()
        if name == "lucent_stage_events_total" and ("stage", "lucent-processor") in labels
    }
    dead = total(after, "lucent_messages_dead_lettered_total", **stage)
    assert total(after, "lucent_messages_in_total", **stage) == (
        events["normalized"] + dead + events["duplicates"] + events.get("retracted", 0)
    )

    # Split by topic: the raw topics it read, the normalized ones it wrote (moved() above
    # sums over topics). Batch sizes: every record consumed is in one observed batch. Its
    # consumer holds the raw partitions since its one assignment.
    def topics(name: str) -> set[str]:
        return {
            dict(labels)["topic"]
            for (n, labels), v in after.items()
            if n == name and ("stage", "lucent-processor") in labels and v
        }

    read, written = topics("lucent_messages_in_total"), topics("lucent_messages_out_total")
    assert read and not any(t.endswith(".all") or not t for t in read)  # raw, per instrument
    assert "market.prices.all" in written and "" not in written
    assert moved("lucent_batch_size_count") > 0
    assert moved("lucent_batch_size_sum") == len(second)
    assert moved("lucent_batch_size_bucket", le="+Inf") == moved("lucent_batch_size_count")
    assert total(after, "lucent_assigned_partitions", **stage) > 0
    assert total(after, "lucent_rebalances_total", **stage, kind="assign") >= 1

    # Lag per partition, from the worker's own consumer (measured every second): the raw
    # partitions it reads, nothing left behind once everything is consumed.
    def lag(s: Samples) -> dict[tuple[str, str], float]:
        return {
            (dict(labels)["topic"], dict(labels)["partition"]): v
            for (name, labels), v in s.items()
            if name == "lucent_consumer_lag" and ("stage", "lucent-processor") in labels
        }

    caught_up = wait_for_scrape(
        port, worker, lambda s: bool(lag(s)) and sum(lag(s).values()) == 0, "no lag"
    )
    assert all(topic.startswith("market.") for topic, _ in lag(caught_up))
    assert total(after, "process_resident_memory_bytes") > 0  # the process's own figures


def test_sink_metrics_count_rows_and_inserts(
    own_broker: str,
    clickhouse_server: EmbeddedClickHouse,
    clickhouse: Client,
    tmp_path: Path,
    stopped_at_end: list[subprocess.Popen[bytes]],
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    provision_fixed_topics(settings, own_broker)
    values: list[bytes | None] = [encode(t) for t in recorded_trades()]
    half = len(values) // 2
    produce(own_broker, settings, TRADES, values[:half])
    port = free_port()
    env = sink_env(tmp_path, own_broker, clickhouse_server.url, clickhouse.database,
                   LUCENT_SINK_BATCH_ROWS="100", LUCENT_SINK_BATCH_MS="200",
                   LUCENT_METRICS_PORT=str(port))  # fmt: skip
    worker = start_sink(env, tmp_path / "sink.log")
    stopped_at_end.append(worker)
    stage = {"worker": "clickhouse-sink", "stage": "lucent-clickhouse-sink"}

    def inserted(n: int) -> Callable[[Samples], bool]:
        return lambda s: total(s, "lucent_clickhouse_rows_inserted_total", table="trades") >= n

    before = wait_for_scrape(port, worker, inserted(half), "the first half inserted")
    produce(own_broker, settings, TRADES, values[half:])
    after = wait_for_scrape(port, worker, inserted(len(values)), "every trade inserted")

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("lucent_clickhouse_rows_inserted_total", table="trades") == len(values) - half
    assert moved("lucent_messages_in_total", **stage) == len(values) - half
    assert moved("lucent_messages_out_total", **stage) == len(values) - half
    assert moved("lucent_clickhouse_inserts_total", **stage) > 0
    assert moved("lucent_clickhouse_insert_duration_seconds_count", **stage) > 0
    assert moved("lucent_input_latency_seconds_count", **stage) == len(values) - half
    assert total(after, "lucent_clickhouse_insert_failures_total", **stage) == 0
    # Lag (measured every second) for the trades partitions it reads.
    wait_for_scrape(
        port, worker, lambda s: any(n == "lucent_consumer_lag" and ("topic", TRADES) in labels
                                    for n, labels in s), "the sink's lag",
    )  # fmt: skip


def test_feed_metrics_count_what_it_publishes(
    kafka_bootstrap: str, tmp_path: Path, stopped_at_end: list[subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    env = {
        **metrics_env(tmp_path, kafka_bootstrap, port),
        "LUCENT_FEED": "simulate",
        "LUCENT_PAIRS": "BTC-USDT",
        "LUCENT_SIMULATOR_RATE": "2",
    }
    worker = start_worker("feed", env, tmp_path / "feed.log")
    stopped_at_end.append(worker)
    labels = {"worker": "feed", "stage": "feed"}

    def delivered(n: float) -> Callable[[Samples], bool]:
        return lambda s: total(s, "lucent_published_total", outcome="delivered", **labels) > n

    first = wait_for_scrape(port, worker, delivered(0), "a first delivery")
    seen = total(first, "lucent_published_total", outcome="delivered", **labels)
    second = wait_for_scrape(port, worker, delivered(seen), "more deliveries")
    assert total(second, "lucent_published_total", outcome="sent", **labels) >= total(
        second, "lucent_published_total", outcome="delivered", **labels
    )
    assert total(second, "lucent_published_total", outcome="failed", **labels) == 0


def test_a_busy_metrics_port_stops_the_worker_naming_the_setting(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind((LOOPBACK, 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = metrics_env(tmp_path, "127.0.0.1:9", port)
        result = subprocess.run(
            [sys.executable, "-m", "lucent_platform.cli", "worker", "feed"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "LUCENT_METRICS_PORT" in result.stderr and str(port) in result.stderr


def test_lucent_up_gives_each_worker_its_own_metrics_port() -> None:
    workers = ["processor", "feed", "clickhouse-sink"]
    free = metrics_ports(0, workers)
    assert sorted(free) == sorted(workers) and len(set(free.values())) == len(workers)
    with socket.socket() as holder:
        holder.bind((LOOPBACK, 0))
        holder.listen()
        busy = holder.getsockname()[1]
        with pytest.raises(StackError, match="LUCENT_METRICS_PORT"):
            metrics_ports(busy - 1, workers)  # the second worker's port is taken


def test_every_worker_lucent_up_starts_serves_its_own_metrics(settings: Settings) -> None:
    stack = LocalStack(settings, with_dagster=False, workers=["feed", "processor"])
    stack.start()
    try:
        ports = {
            p.name.removeprefix("worker "): int(p.env["LUCENT_METRICS_PORT"])
            for p in stack.processes
            if p.name.startswith("worker ")
        }
        assert sorted(ports) == ["feed", "processor"] and len(set(ports.values())) == 2
        workers = {p.name.removeprefix("worker "): p.popen for p in stack.processes}
        checks: dict[str, Callable[[Samples], bool]] = {
            "feed": lambda s: total(s, "lucent_published_total", outcome="delivered") > 0,
            "processor": lambda s: total(s, "lucent_messages_in_total", worker="processor") > 0,
        }
        for name, port in ports.items():
            worker = workers[name]
            assert worker is not None
            wait_for_scrape(port, worker, checks[name], f"worker {name} counting")
    finally:
        stack.stop()


def test_a_live_venue_feed_shows_its_connection_health(tmp_path: Path) -> None:
    port = free_port()
    settings = Settings(_env_file=None, data_dir=tmp_path, metrics_port=port)  # type: ignore[call-arg]
    server = serve(settings, "feed")
    assert server is not None
    done = threading.Event()
    with ExchangeServer(
        Script(binance_frames(), drop_after=40, ack=binance_ack), rest={"/depth": DEPTH_BODY}
    ) as exchange:
        feed, received = collecting_feed("binance", ["BTC-USDT"], exchange)
        expose("venue", "binance", feed)
        runner = threading.Thread(target=lambda: asyncio.run(feed.run(done.is_set)))
        runner.start()
        try:
            labels = {"worker": "feed", "source": "binance"}

            def envelopes(s: Samples) -> float:
                return total(s, "lucent_feed_events_total", event="envelopes", **labels)

            first = _wait(port, lambda s: envelopes(s) > 0, "a first envelope")
            second = _wait(
                port,
                lambda s: (
                    total(s, "lucent_feed_reconnects_total", **labels) >= 1
                    and envelopes(s) > envelopes(first)
                ),
                "a reconnection with more envelopes",
            )
            again = _wait(
                port, lambda s: total(s, "lucent_feed_connected", **labels) == 1, "reconnected"
            )
        finally:
            done.set()
            runner.join(30)
            server.shutdown()
            server.server_close()
    assert total(first, "lucent_feed_stale_total", **labels) == 0
    assert envelopes(second) <= len(received)
    assert total(again, "lucent_feed_events_total", event="connections", **labels) >= 2


def _wait(port: int, ready: Callable[[Samples], bool], what: str) -> Samples:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        samples = scrape(port)
        if ready(samples):
            return samples
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_bridge_metrics_count_nats_acks_duplicates_and_dead_letters(
    settings: Settings, own_broker: str, nats_url: str
) -> None:
    port = free_port()
    server = serve(settings.model_copy(update={"metrics_port": port}), "bridge")
    assert server is not None
    provision_topics(settings, own_broker)
    record, _ = yield_signal("metrics-pool")
    try:
        with bridge_in_thread(settings, own_broker, nats_url, group_id=f"bridge-{port}") as bridge:
            stage = {"worker": "bridge", "stage": f"bridge-{port}"}
            # the same record twice (a replay) and a record that is no envelope
            produce_records(
                settings, own_broker, YIELD_OPPORTUNITIES, [record, record, b"{not json"]
            )
            first = _wait(port, lambda s: total(s, "lucent_messages_in_total", **stage) >= 3,
                          "three records in")  # fmt: skip
            other, _ = yield_signal("metrics-pool-2")
            produce_records(settings, own_broker, YIELD_OPPORTUNITIES, [other])
            second = _wait(
                port,
                lambda s: (
                    total(s, "lucent_nats_publish_acks_total", **stage)
                    > total(first, "lucent_nats_publish_acks_total", **stage)
                ),
                "one more acknowledged",
            )
            lagged = _wait(
                port,
                lambda s: any(n == "lucent_consumer_lag" and ("stage", stage["stage"]) in labels
                              for n, labels in s),
                "the bridge's lag",
            )  # fmt: skip
            counts = bridge.counts
    finally:
        server.shutdown()
        server.server_close()
    assert total(first, "lucent_nats_publish_acks_total", **stage) == 1
    assert total(first, "lucent_nats_publish_duplicates_total", **stage) == 1
    assert total(first, "lucent_messages_dead_lettered_total", reason="undecodable", **stage) == 1
    assert total(second, "lucent_messages_out_total", **stage) == 2 == counts["published"]
    assert total(lagged, "lucent_consumer_lag", **stage) == 0
