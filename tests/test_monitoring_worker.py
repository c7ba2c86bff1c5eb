"""``lucent worker monitor`` against the real broker and NATS: a simulated venue that stops
goes stale (on ``monitoring.alerts`` and on ``monitoring.alerts.stale_source``) and resolves
when it comes back; a burst of dead letters opens a failure-rate alert, a venue off the others
a price-deviation alert; a restarted monitor takes the open alerts over; one restarted after a long
stop judges freshness only once it has read its backlog (a live source is not stale, one that
stopped long ago is); a second monitor on the same group refuses to start; ``open_alerts``
reads what ``lucent status`` shows; ``lucent worker monitor`` itself starts and stops clean, and a
wrong ``LUCENT_MONITOR_CONFIG`` stops it naming the field."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from lucent_platform.adapters import kafka
from lucent_platform.adapters import nats as nats_adapter
from lucent_platform.adapters.kafka_groups import describe
from lucent_platform.config import Settings
from lucent_platform.envelope import decode_as, encode, new_envelope
from lucent_platform.messages import PriceUpdate
from lucent_platform.messages.monitoring import MonitoringAlert
from lucent_platform.monitoring.config import MonitorConfig
from lucent_platform.monitoring.status import open_alerts
from lucent_platform.processing import deadletter
from lucent_platform.simulator import AnomalyRates, MarketSimulator, SimulatorConfig
from lucent_platform.stack.endpoints import Endpoints
from lucent_platform.subjects import monitoring_alert
from lucent_platform.topics import TopicSpec
from streaming.exposed import exposed
from streaming.lifecycle import StopSignal
from streaming.monitor import AnotherMonitor, MonitorWorker, run
from streaming.monitor_metrics import MonitorCollector
from streaming.runtime import WorkerMetrics
from tests.fixtures.nats import RestartableNats
from tests.test_runtime_loop import EARLIEST, create_topics

QUIET = AnomalyRates(arbitrage_gap=0, apy_spike=0, outlier=0, duplicate=0, late=0, malformed=0)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Setup:
    def __init__(self, settings: Settings, bootstrap: str, nats_url: str, unique: str) -> None:
        self.settings, self.bootstrap, self.nats_url = settings, bootstrap, nats_url
        self.prices, self.dead = f"mon.prices.{unique}", f"mon.dead.{unique}"
        self.alerts, self.group = f"mon.alerts.{unique}", f"mon-{unique}"
        create_topics(settings, bootstrap, TopicSpec(self.prices, 2), TopicSpec(self.dead, 1),
                      TopicSpec(self.alerts, 1))  # fmt: skip
        self.producer = kafka.producer(settings, bootstrap)
        self.endpoints = Endpoints(bootstrap, nats_url, "", "")

    @contextmanager
    def worker(self, config: MonitorConfig, **options: Any) -> Iterator[list[WorkerMetrics]]:
        stop, done = StopSignal(), []

        def main() -> None:
            done.append(run(
                self.settings, self.bootstrap, self.nats_url, stop, config=config,
                normalized_topics=[self.prices], deadletter_topic=self.dead,
                alerts_topic=self.alerts, group_id=self.group,
                **{"consumer_config": EARLIEST, **options},
            ))  # fmt: skip

        thread = threading.Thread(target=main, daemon=True)
        thread.start()
        try:
            yield done
        finally:
            stop.set()
            thread.join(20)
            assert not thread.is_alive()

    def produce(self, topic: str, key: bytes, value: bytes) -> None:
        self.producer.produce(topic, value, key)

    def flush(self) -> None:
        assert self.producer.flush(30) == 0

    def kafka_alerts(self) -> list[MonitoringAlert]:
        records = kafka.read_topic(self.settings, self.bootstrap, self.alerts, idle_timeout=0.3)
        return [decode_as(r.value or b"", MonitoringAlert).data for r in records]

    def nats_alerts(self, kind: str) -> list[MonitoringAlert]:
        async def read() -> list[MonitoringAlert]:
            client = await nats_adapter.connect(self.settings, self.nats_url)
            try:
                js = nats_adapter.jetstream(client)
                state = (await js.stream_info("MONITORING")).state
                found = []
                for seq in range(state.first_seq, state.last_seq + 1):
                    msg = await js.get_msg("MONITORING", seq)
                    if msg.subject == monitoring_alert(kind):
                        found.append(decode_as(msg.data or b"", MonitoringAlert).data)
                return found
            finally:
                await client.close()

        return asyncio.run(read())


def wait_for(
    what: Callable[[], list[MonitoringAlert]], n: int, timeout: float = 30.0
) -> list[MonitoringAlert]:
    deadline = time.monotonic() + timeout
    while len(found := what()) < n:
        assert time.monotonic() < deadline, f"timed out with {found}"
        time.sleep(0.2)
    return found


def quote(exchange: str, price: float, at_ms: int) -> bytes:
    data = PriceUpdate(exchange=exchange, pair="ETH-USDC", price=price)
    return encode(new_envelope(data, source="test", event_time_ms=at_ms, received_time_ms=at_ms))


def test_a_simulated_venue_that_stops_goes_stale_and_resolves_when_it_returns(
    kafka_bootstrap: str, settings: Settings, unique: str, own_nats: RestartableNats
) -> None:
    s = Setup(settings, kafka_bootstrap, own_nats.url, unique)
    config = MonitorConfig(stale_factor=4, stale_min_ms=1_000, evaluate_every_ms=100)
    sim_config = SimulatorConfig(exchanges=("binance", "kraken"), pairs=("BTC-USDT",),
                                 tickers_per_s=10, anomalies=QUIET)  # fmt: skip
    simulator = MarketSimulator(sim_config, start_ms=now_ms())
    enabled = {"binance", "kraken"}
    feeding = threading.Event()
    feeding.set()

    def feed() -> None:
        while feeding.is_set():
            for m in simulator.step(now_ms()):
                venue = m.topic.split(".")[2]
                if m.topic.startswith("market.prices.") and venue in enabled:
                    s.produce(s.prices, m.key or b"", m.value)
            s.producer.poll(0)
            time.sleep(0.05)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        with s.worker(config) as done:
            time.sleep(3)  # both venues learned
            assert s.kafka_alerts() == []
            enabled.discard("kraken")
            stale = wait_for(s.kafka_alerts, 1)
            assert [(a.kind, a.source, a.is_open) for a in stale] == [
                ("stale_source", "kraken", True)
            ]
            [published] = wait_for(lambda: s.nats_alerts("stale_source"), 1)
            assert published == stale[0]
            assert [a.alert_id for a in open_alerts(settings, s.endpoints, topic=s.alerts)] == [
                stale[0].alert_id
            ]
            enabled.add("kraken")
            both = wait_for(s.kafka_alerts, 2)
            assert both[1].alert_id == stale[0].alert_id and both[1].resolved_at_ms is not None
            assert wait_for(lambda: s.nats_alerts("stale_source"), 2)[1] == both[1]
            assert open_alerts(settings, s.endpoints, topic=s.alerts) == []
            [shown] = [e for e in exposed() if e.name == s.group and e.kind == "bridge"]
            assert shown.kind == "bridge" and shown.obj.counts["published"] == 2
            time.sleep(1)
        assert len(s.kafka_alerts()) == 2  # binance never alerted, kraken once
        assert done and done[0].counts["messages"] > 20 and done[0].counts["published"] == 2
    finally:
        feeding.clear()
        feeder.join(5)


@pytest.mark.slow
def test_dead_letter_burst_and_deviation_open_alerts_and_a_restart_takes_them_over(
    kafka_bootstrap: str, settings: Settings, unique: str, own_nats: RestartableNats
) -> None:
    s = Setup(settings, kafka_bootstrap, own_nats.url, unique)
    config = MonitorConfig(failure_min_messages=20, failure_rate_open=0.3, stale_min_ms=60_000,
                           evaluate_every_ms=100, deviation_open_bps=100)  # fmt: skip
    t = now_ms()
    for exchange, price in [("binance", 2000.0), ("coinbase", 2001.0), ("kraken", 2080.0)]:
        s.produce(s.prices, b"ETH-USDC", quote(exchange, price, t))
    for i in range(10):
        s.produce(s.prices, b"ETH-USDC", quote("coinbase", 2001.0, t + i))
    for i in range(15):
        letter = deadletter.DeadLetter(
            reason="outlier" if i % 3 else "crossed_quote", detail="",
            source_topic="market.prices.coinbase.eth-usdc", source_partition=0,
            source_offset=i, source_timestamp_ms=t, dead_lettered_at_ms=t + i,
            original_base64=b"{}",
        )  # fmt: skip
        s.produce(s.dead, b"market.prices.coinbase.eth-usdc", deadletter.encode(letter))
    s.flush()
    with s.worker(config):
        wait_for(s.kafka_alerts, 2)
        time.sleep(0.5)
    by_kind = {a.kind: a for a in s.kafka_alerts()}
    assert set(by_kind) == {"failure_rate", "price_deviation"}
    failures = by_kind["failure_rate"]
    # as much as was read by the first evaluation that saw 30 % of at least 20 messages
    assert failures.source == "coinbase" and "mostly outlier" in failures.detail
    assert (failures.figures or {})["rate"] >= 0.3
    deviation = by_kind["price_deviation"]
    assert deviation.source == "ETH-USDC" and deviation.detail.startswith("kraken at 2080")
    assert wait_for(lambda: s.nats_alerts("failure_rate"), 1) == [failures]
    assert wait_for(lambda: s.nats_alerts("price_deviation"), 1) == [deviation]
    # a restart: the open alerts are taken over, not opened again; the venues quote in line again
    with s.worker(config):
        for exchange, price in [("binance", 2000.0), ("coinbase", 2001.0), ("kraken", 2000.5)]:
            s.produce(s.prices, b"ETH-USDC", quote(exchange, price, now_ms()))
        s.flush()
        wait_for(s.kafka_alerts, 3)
        time.sleep(0.5)
    found = s.kafka_alerts()
    assert len(found) == 3 and found[2].alert_id == deviation.alert_id
    assert found[2].resolved_at_ms is not None
    assert [a.alert_id for a in open_alerts(settings, s.endpoints, topic=s.alerts)] == [
        failures.alert_id
    ]


def test_lucent_worker_monitor_starts_provisions_its_stream_and_stops_clean(
    kafka_bootstrap: str, own_nats: RestartableNats, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "LUCENT_DATA_DIR": str(tmp_path),
        "LUCENT_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "LUCENT_NATS_URL": own_nats.url,
        "LUCENT_CLICKHOUSE_URL": "http://127.0.0.1:9",  # named, never contacted
        "LUCENT_EVENTSTORE_PATH": str(tmp_path / "events.sqlite"),
        "LUCENT_MONITOR_CONFIG": '{"stale_factor": 5}',
    }
    command = [sys.executable, "-m", "lucent_platform.cli", "worker", "monitor"]
    worker = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]

    async def streams() -> list[str]:
        client = await nats_adapter.connect(settings, own_nats.url)
        try:
            return [
                s.config.name or "" for s in await nats_adapter.jetstream(client).streams_info()
            ]
        finally:
            await client.close()

    try:
        deadline = time.monotonic() + 60
        while "MONITORING" not in asyncio.run(streams()):
            assert worker.poll() is None and time.monotonic() < deadline
            time.sleep(0.3)
        time.sleep(1)  # subscribed and evaluating
        assert worker.poll() is None
    finally:
        worker.send_signal(signal.SIGTERM)
        log = worker.communicate(timeout=60)[0].decode()
    assert worker.returncode == 0, log

    wrong = {**env, "LUCENT_MONITOR_CONFIG": '{"stale": 5}'}
    result = subprocess.run(command, env=wrong, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "unknown monitor config field(s) ['stale']" in result.stdout + result.stderr


def test_after_a_long_stop_freshness_is_judged_once_the_backlog_is_read(
    kafka_bootstrap: str, settings: Settings, unique: str, own_nats: RestartableNats
) -> None:
    """An hour of backlog: binance quoted all along and still does, kraken stopped 50 minutes
    ago. Fetched a few records at a time and evaluated every 20 ms, the old records would make
    binance stale (and missing) before the catch-up; only kraken's alerts open. The metrics
    endpoint shows them, and each source's age."""
    s = Setup(settings, kafka_bootstrap, own_nats.url, unique)
    start = now_ms() - 3_600_000
    for i in range(3_600):  # one quote a second per venue, the hour before now
        at = start + i * 1_000
        s.produce(s.prices, b"binance", quote("binance", 2000.0, at))
        if i < 600:
            s.produce(s.prices, b"kraken", quote("kraken", 2000.0, at))
    s.flush()
    config = MonitorConfig(stale_factor=5, stale_min_ms=3_000, evaluate_every_ms=20,
                           missing_after_ms=60_000)  # fmt: skip
    # small fetches: the backlog takes many round trips, so many evaluations, to read
    slow = {**EARLIEST, "fetch.max.bytes": 2048, "max.partition.fetch.bytes": 2048,
            "message.max.bytes": 2048}  # fmt: skip
    feeding = threading.Event()
    feeding.set()

    def feed() -> None:  # binance goes on quoting while the monitor catches up
        while feeding.is_set():
            s.produce(s.prices, b"binance", quote("binance", 2000.0, now_ms()))
            s.producer.poll(0)
            time.sleep(0.2)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        with s.worker(config, batch_size=100, consumer_config=slow) as done:
            found = wait_for(s.kafka_alerts, 2)
            time.sleep(2)  # and nothing else opens
            registry = CollectorRegistry()  # what the endpoint's MonitorCollector serves
            registry.register(MonitorCollector("monitor"))
            scraped = generate_latest(registry).decode()
    finally:
        feeding.clear()
        feeder.join(5)
    found = s.kafka_alerts()
    assert sorted((a.kind, a.source, a.is_open) for a in found) == [
        ("missing_source", "kraken", True),
        ("stale_source", "kraken", True),
    ]
    stale = next(a for a in found if a.kind == "stale_source")
    assert (stale.figures or {})["silence_ms"] > 2_900_000  # judged by its newest record
    assert (stale.figures or {})["expected_interval_ms"] == 1_000  # learned from record times
    assert done and done[0].counts["messages"] >= 4_200
    families = {f.name: f for f in text_string_to_metric_families(scraped)}
    ages = {s.labels["source"]: s.value for s in families["lucent_source_age_seconds"].samples}
    assert ages["binance"] < 60 and ages["kraken"] > 2_900
    assert {(s.labels["kind"], s.labels["source"], s.value)
            for s in families["lucent_monitor_open_alerts"].samples} == {
        ("missing_source", "kraken", 1.0), ("stale_source", "kraken", 1.0)
    }  # fmt: skip
    assert [s.value for s in families["lucent_monitor_caught_up"].samples] == [1.0]


def test_a_second_monitor_on_the_same_group_refuses_to_start(
    kafka_bootstrap: str, settings: Settings, unique: str, own_nats: RestartableNats
) -> None:
    s = Setup(settings, kafka_bootstrap, own_nats.url, unique)
    config = MonitorConfig(evaluate_every_ms=100)
    with s.worker(config):
        deadline = time.monotonic() + 60
        while not describe(settings, kafka_bootstrap, s.group).live:  # the first one joined
            assert time.monotonic() < deadline
            time.sleep(0.2)
        second = MonitorWorker(
            settings, kafka_bootstrap, own_nats.url, StopSignal(), config=config,
            normalized_topics=[s.prices], deadletter_topic=s.dead, alerts_topic=s.alerts,
            group_id=s.group, takeover_wait_s=1.0,
        )  # fmt: skip
        with pytest.raises(AnotherMonitor) as refused:
            second.run()
        assert describe(settings, kafka_bootstrap, s.group).live
        message = str(refused.value)
        # on one machine the lock names its holder at once (a broker that lists members,
        # Kafka, is asked after it: that refusal names member, client and host)
        assert message.startswith(f"another monitor is running: pid {os.getpid()} on this ")
        assert f"{s.group}.lock for consumer group {s.group}" in message
        assert "stop it" in message
    # the first one stopped and left its group: a new one starts
    with s.worker(config) as done:
        time.sleep(2)
    assert done and done[0].counts["consume_errors"] == 0
