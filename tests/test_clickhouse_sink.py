"""`lucent worker clickhouse-sink` against a real broker and the embedded ClickHouse server:
killed between an insert and its commit it duplicates nothing (rows and candles), and a
ClickHouse outage while data flows loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import pytest

from lucent_platform.adapters import kafka
from lucent_platform.adapters.clickhouse import connect
from lucent_platform.config import Settings
from lucent_platform.envelope import Envelope, encode
from lucent_platform.stack import services
from lucent_platform.stack.ports import LOOPBACK, free_port
from lucent_platform.topics import DEADLETTER, Kind, fixed_topics, normalized
from streaming.lifecycle import StopSignal
from streaming.sink.worker import SinkOptions, run
from tests.fixtures.clickhouse import EmbeddedClickHouse
from tests.market_fixtures import envelopes, frames, jsonl

if TYPE_CHECKING:
    from clickhouse_connect.driver import Client

TRADES = normalized(Kind.TRADES)


def recorded_trades() -> list[Envelope[Any]]:
    """600 real Binance aggregate trades (tests/fixtures/market/binance)."""
    return envelopes("binance", frames("binance", jsonl("binance/ws_aggTrade.jsonl")))


def provision(bootstrap: str, settings: Settings) -> None:
    kafka.provision(
        kafka.admin(settings, bootstrap), fixed_topics(), replication_factor=1,
        min_insync_replicas=1,
    )  # fmt: skip


def produce(bootstrap: str, settings: Settings, topic: str, values: list[bytes | None],
            partition: int | None = None) -> None:  # fmt: skip
    producer = kafka.producer(settings, bootstrap)
    for i, value in enumerate(values):
        extra = {} if partition is None else {"partition": partition}
        producer.produce(topic, value, str(i % 7).encode(), **extra)
        producer.poll(0)
    assert producer.flush(30) == 0


def candle_volumes(client: Client, database: str) -> dict[str, tuple[float, int]]:
    rows = client.query(
        f"SELECT pair, sum(total_volume), sum(trade_count) FROM {database}.market_data "
        "GROUP BY pair"
    ).result_rows
    return {pair: (volume, int(count)) for pair, volume, count in rows}


def expected_volumes(trades: list[Envelope[Any]]) -> dict[str, tuple[float, int]]:
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    for trade in trades:
        sums[trade.data.pair][0] += trade.data.amount
        sums[trade.data.pair][1] += 1
    return {pair: (volume, int(count)) for pair, (volume, count) in sums.items()}


def count(client: Client, database: str, table: str, what: str = "count()") -> int:
    return int(client.query(f"SELECT {what} FROM {database}.{table}").result_rows[0][0])


def sink_env(
    tmp_path: Path, bootstrap: str, url: str, database: str, **extra: str
) -> dict[str, str]:
    return {
        **os.environ,
        "LUCENT_DATA_DIR": str(tmp_path),
        "LUCENT_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "LUCENT_CLICKHOUSE_URL": url,
        "LUCENT_CLICKHOUSE_DATABASE": database,
        "LUCENT_NATS_URL": "nats://127.0.0.1:9",  # named, never contacted
        "LUCENT_EVENTSTORE_PATH": str(tmp_path / "events.sqlite"),
        **extra,
    }


def start_sink(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "lucent_platform.cli", "worker", "clickhouse-sink"],
        env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_a_sink_killed_between_insert_and_commit_duplicates_nothing(
    own_broker: str, clickhouse_server: EmbeddedClickHouse, clickhouse: Client, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    provision(own_broker, settings)
    trades = recorded_trades()
    values: list[bytes | None] = [encode(t) for t in trades]
    db, log = clickhouse.database, tmp_path / "sink.log"
    env = sink_env(tmp_path, own_broker, clickhouse_server.url, db,
                   LUCENT_SINK_BATCH_ROWS="50", LUCENT_SINK_BATCH_MS="300")  # fmt: skip

    # Life 1: batches 0-49 and 50-99 (size), 100-129 (age); killed after the third insert.
    produce(own_broker, settings, TRADES, values[:130], partition=0)
    first = start_sink({**env, "LUCENT_SINK_CRASH_AFTER_INSERTS": "3"}, log)
    assert first.wait(90) == -signal.SIGKILL
    assert count(clickhouse, db, "trades") == 130

    # Life 2: more records behind the uncommitted ones; a size cut alone would now cut
    # 100-149 and insert 100-129 again under a new token. Killed again after two inserts.
    produce(own_broker, settings, TRADES, values[130:], partition=0)
    second = start_sink({**env, "LUCENT_SINK_CRASH_AFTER_INSERTS": "2"}, log)
    assert second.wait(90) == -signal.SIGKILL
    assert "repeating" in log.read_text()  # the recorded cut(s) were repeated

    # Life 3: to the end, then a clean stop.
    third = start_sink(env, log)
    try:
        wait_for(lambda: count(clickhouse, db, "trades") >= len(trades), 90, "every trade")
        time.sleep(1.0)  # anything more would arrive now
    finally:
        third.send_signal(signal.SIGTERM)
        assert third.wait(30) == 0
    unique = len({t.header.message_id for t in trades})
    assert count(clickhouse, db, "trades") == unique  # no FINAL: no duplicate ever landed
    assert count(clickhouse, db, "trades", "uniqExact(message_id)") == unique
    got, want = candle_volumes(clickhouse, db), expected_volumes(trades)
    assert got.keys() == want.keys()
    for pair, (volume, n) in want.items():
        assert got[pair][1] == n
        assert got[pair][0] == pytest.approx(volume, rel=1e-9)


@pytest.fixture
def own_clickhouse(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A port and data dir for a ClickHouse server this test stops and starts itself."""
    yield free_port(), tmp_path / "clickhouse"


def test_clickhouse_down_for_ten_seconds_loses_nothing(
    own_broker: str, own_clickhouse: tuple[int, Path], tmp_path: Path
) -> None:
    port, data_dir = own_clickhouse
    url = f"http://{LOOPBACK}:{port}"
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    provision(own_broker, settings)
    base = recorded_trades()
    trades = [
        msgspec.structs.replace(
            t, header=msgspec.structs.replace(t.header, message_id=f"outage-{i}")
        )
        for i, t in enumerate(base * 5)
    ]
    garbage = [b"not an envelope", None]

    server = services.clickhouse_server(port, data_dir, tmp_path)
    server.start()
    server.wait_ready()
    stop = StopSignal()
    metrics: list[Any] = []
    options = SinkOptions(batch_records=100, batch_s=0.2, retry_max_s=2.0, max_buffered=2000)
    sink = threading.Thread(
        target=lambda: metrics.append(run(settings, own_broker, url, stop, options=options))
    )
    sink.start()
    try:
        chunks = [trades[i : i + 100] for i in range(0, len(trades), 100)]
        outage_at, back_at = 5, 20  # chunks are 0.5 s apart: down from 2.5 s to 10 s later
        for i, chunk in enumerate(chunks):
            produce(own_broker, settings, TRADES, [encode(t) for t in chunk])
            if i == 2:
                produce(own_broker, settings, DEADLETTER, list(garbage))
            if i == outage_at:
                server.stop()
                down = time.monotonic()
            if i == back_at:
                time.sleep(max(0.0, 10.0 - (time.monotonic() - down)))
                server = services.clickhouse_server(port, data_dir, tmp_path)
                server.start()
                server.wait_ready()
            time.sleep(0.5)
        client = connect(url)
        wait_for(lambda: count(client, "lucent", "trades") >= len(trades), 90, "every trade")
        time.sleep(1.0)
        assert count(client, "lucent", "trades") == len(trades)
        got, want = candle_volumes(client, "lucent"), expected_volumes(trades)
        assert {p: n for p, (_, n) in got.items()} == {p: n for p, (_, n) in want.items()}
        reasons = client.query(
            "SELECT reason, count() FROM lucent.dead_letters WHERE source = 'clickhouse-sink' "
            "GROUP BY reason"
        ).result_rows
        assert dict(reasons) == {"undecodable": 2}
        client.close()
    finally:
        stop.set()
        sink.join(60)
        server.stop()
    counts = metrics[0].counts
    assert counts["insert_failures"] >= 1 and counts["retries"] >= 1 and counts["pauses"] >= 1
    assert counts["malformed"] == 2
