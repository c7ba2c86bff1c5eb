"""``lucent worker monitor`` killed with SIGKILL while two alerts are open, and restarted, as
the real process on a broker and a nats-server of its own.

The monitor promises alerts neither lost nor doubled across a restart: an alert has a
deterministic id, and a restarted monitor reads ``monitoring.alerts`` (the latest transition
per id) and takes the open ones over, so re-reading its uncommitted input opens nothing again;
an alert whose condition ends after the restart is resolved once.

The local broker keeps a SIGKILLed member's group "stable" without listing members; the
restarted monitor starts because the killed one's machine lock (``DATA_DIR/<group>.lock``)
went with its process.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings
from lucent_platform.envelope import decode_as
from lucent_platform.messages.monitoring import MonitoringAlert
from lucent_platform.processing import deadletter
from lucent_platform.topics import DEADLETTER, MONITORING_ALERTS, Kind, normalized
from tests.domain_flow import provision_topics, wait_until
from tests.fixtures.nats import RestartableNats
from tests.test_monitoring_worker import now_ms, quote
from tests.worker_process import start_worker, worker_env

CONFIG = {
    "failure_min_messages": 20, "failure_rate_open": 0.3, "stale_min_ms": 600_000,
    "evaluate_every_ms": 100, "deviation_open_bps": 100,
}  # fmt: skip


def _alerts(settings: Settings, broker: str) -> list[MonitoringAlert]:
    records = kafka.read_topic(settings, broker, MONITORING_ALERTS, idle_timeout=0.5)
    return [decode_as(r.value or b"", MonitoringAlert).data for r in records]


def _wait_for(settings: Settings, broker: str, n: int, timeout: float = 90) -> None:
    wait_until(lambda: len(_alerts(settings, broker)) >= n, timeout, f"{n} alerts", every=0.3)


@pytest.mark.slow
def test_a_monitor_killed_with_open_alerts_neither_loses_nor_doubles_them(
    own_broker: str, own_nats: RestartableNats, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    provision_topics(settings, own_broker)
    producer = kafka.producer(settings, own_broker)
    prices, t = normalized(Kind.PRICES), now_ms()
    for exchange, price in [("binance", 2000.0), ("coinbase", 2001.0), ("kraken", 2080.0)]:
        producer.produce(prices, quote(exchange, price, t), b"ETH-USDC")
    for i in range(10):
        producer.produce(prices, quote("coinbase", 2001.0, t + i), b"ETH-USDC")
    for i in range(15):
        letter = deadletter.DeadLetter(
            reason="outlier", detail="", source_topic="market.prices.coinbase.eth-usdc",
            source_partition=0, source_offset=i, source_timestamp_ms=t,
            dead_lettered_at_ms=t + i, original_base64=b"{}",
        )  # fmt: skip
        producer.produce(DEADLETTER, deadletter.encode(letter), b"market.prices.coinbase.eth-usdc")
    assert producer.flush(30) == 0

    env = worker_env(tmp_path, own_broker, own_nats.url, LUCENT_MONITOR_CONFIG=json.dumps(CONFIG))
    log = tmp_path / "monitor.log"
    first = start_worker("monitor", env, log)
    _wait_for(settings, own_broker, 2)  # failure_rate and price_deviation open
    first.send_signal(signal.SIGKILL)
    assert first.wait(30) == -signal.SIGKILL
    opened = {a.kind: a for a in _alerts(settings, own_broker)}
    assert set(opened) == {"failure_rate", "price_deviation"}, opened

    # The killed member stays in the group for one session (LUCENT_KAFKA_SESSION_TIMEOUT_MS,
    # 6 s), which the restarted monitor waits out before it would refuse to start.
    second = start_worker("monitor", env, log)
    try:
        with contextlib.suppress(subprocess.TimeoutExpired):  # still running: it took over
            second.wait(20)
        assert second.poll() is None, "the restarted monitor refused to start"
        time.sleep(3)  # restarted, its input re-read: nothing may be opened again
        for exchange, price in [("binance", 2000.0), ("coinbase", 2001.0), ("kraken", 2000.5)]:
            producer.produce(prices, quote(exchange, price, now_ms()), b"ETH-USDC")
        assert producer.flush(30) == 0
        _wait_for(settings, own_broker, 3)
        time.sleep(2)  # anything more would show now
    finally:
        if second.poll() is None:
            second.send_signal(signal.SIGTERM)
            assert second.wait(60) == 0, log.read_text()[-3000:]
    found = _alerts(settings, own_broker)
    print(
        f"\nmonitor SIGKILLed with 2 alerts open; after the restart {len(found)} alert records: "
        + ", ".join(f"{a.kind} {'open' if a.is_open else 'resolved'}" for a in found)
    )
    assert len(found) == 3, found
    deviation = opened["price_deviation"]
    assert found[2].alert_id == deviation.alert_id and found[2].resolved_at_ms is not None
