"""`lucent worker clickhouse-sink` against a real broker and the embedded ClickHouse server:
killed between an insert and its commit it duplicates nothing (rows and candles), and a
30-second ClickHouse outage while data flows loses nothing."""

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
from lucent_platform.analytics import migrate
from lucent_platform.chains.connector import ChainConnector, ChainFrame
from lucent_platform.config import Settings
from lucent_platform.envelope import Envelope, decode, encode
from lucent_platform.messages import PoolSwap
from lucent_platform.processing import InRecord, MarketProcessor, ProcessorConfig
from lucent_platform.stack import services
from lucent_platform.stack.ports import LOOPBACK, free_port
from lucent_platform.topics import DEADLETTER, Kind, fixed_topics, normalized, raw_topic
from streaming.lifecycle import StopSignal
from streaming.sink.worker import SinkOptions, run
from tests.chain_fixtures import recorded_logs
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


@pytest.mark.slow
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


OUTAGE_S = 30.0  # issue #11: the sink while ClickHouse is unavailable for 30 s


@pytest.mark.slow
def test_clickhouse_down_for_thirty_seconds_loses_nothing(
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
        # chunks are 0.5 s apart: down from 2.5 s to OUTAGE_S later (data flows for 7.5 s of it)
        outage_at, back_at = 5, 20
        for i, chunk in enumerate(chunks):
            produce(own_broker, settings, TRADES, [encode(t) for t in chunk])
            if i == 2:
                produce(own_broker, settings, DEADLETTER, list(garbage))
            if i == outage_at:
                # the sink running (its first rows stored), not still connecting: the outage
                # then meets its inserts, not its start-up (which retries too, but uncounted)
                probe = connect(url)
                wait_for(lambda: count(probe, "lucent", "trades") > 0, 60, "the first rows")  # noqa: B023
                probe.close()
                server.stop()
                down = time.monotonic()
            if i == back_at:
                time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down)))
                server = services.clickhouse_server(port, data_dir, tmp_path)
                server.start()
                server.wait_ready()
                back = time.monotonic()
            time.sleep(0.5)
        client = connect(url)
        wait_for(lambda: count(client, "lucent", "trades") >= len(trades), 90, "every trade")
        caught_up = time.monotonic() - back
        time.sleep(1.0)
        stored = count(client, "lucent", "trades")
        print(
            f"\nClickHouse down {back - down:.1f} s: {len(trades)} trades in, {stored} rows out, "
            f"all stored {caught_up:.1f} s after it came back"
        )
        assert stored == len(trades)
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
    # the outage meets whichever ClickHouse call comes next: a batch insert, or the ledger read
    # of a partition assigned meanwhile (which comes first depends on the box's timing)
    failures = counts["insert_failures"] + counts["ledger_failures"]
    assert failures >= 1 and counts["retries"] >= 1 and counts["pauses"] >= 1
    assert counts["malformed"] == 2


def chain_events() -> list[Any]:
    """Processor outputs of real chain logs: the seven recorded bridge transfers and every swap
    or sync of a pool the registry does not know in the recorded block 11017338."""
    connector = ChainConnector("ethereum")
    connector.learn_block(11017338, 1602193349)
    block = recorded_logs("uniswap_v2/logs_block_11017338.json")
    received_ns = 1_602_193_400_123_000_000
    parsed = [connector.parse(ChainFrame("ethereum", received_ns, obj)) for obj in block]
    swaps = [e for result in parsed for e in result.envelopes if isinstance(e.data, PoolSwap)]
    transfers = [
        e
        for item in recorded_logs("bridges/logs_recorded.json")
        for e in ChainConnector(item["chain"])
        .parse(ChainFrame(item["chain"], 1_800_000_000_000_000_000, item["log"]))
        .envelopes
    ]
    processor = MarketProcessor(ProcessorConfig(), clock_ms=lambda: 1_800_000_000_000)
    records = [
        InRecord(raw_topic(e.header.message_type, e.data), 0, i, 0, None, encode(e))
        for i, e in enumerate([*swaps, *transfers])
    ]
    outputs = processor.process(records).outputs
    assert len(outputs) == len(records) and {o.topic for o in outputs} == {
        normalized(Kind.SWAPS),
        normalized(Kind.BRIDGES),
    }
    return outputs


def test_bridge_transfers_and_unknown_pools_swaps_land_exactly(
    own_broker: str, clickhouse_server: EmbeddedClickHouse, clickhouse: Client, tmp_path: Path
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path, clickhouse_database=clickhouse.database
    )
    provision(own_broker, settings)
    migrate(clickhouse, settings)  # the sink migrates too; the test's polling needs the tables
    outputs = chain_events()
    for topic in (normalized(Kind.SWAPS), normalized(Kind.BRIDGES)):
        produce(own_broker, settings, topic, [o.value for o in outputs if o.topic == topic])
    db = clickhouse.database
    stop = StopSignal()
    options = SinkOptions(batch_records=50, batch_s=0.2)
    sink = threading.Thread(
        target=run,
        args=(settings, own_broker, clickhouse_server.url, stop),
        kwargs={"options": options},
    )
    sink.start()
    try:
        total = len(outputs)
        wait_for(
            lambda: (
                count(clickhouse, db, "pool_swaps") + count(clickhouse, db, "bridge_transfers")
                >= total
            ),
            60,
            "every chain event",
        )
    finally:
        stop.set()
        sink.join(60)
    swaps = [o for o in outputs if o.topic == normalized(Kind.SWAPS)]
    assert count(clickhouse, db, "pool_swaps") == len(swaps) > 10
    assert count(clickhouse, db, "pool_swaps", "countIf(price IS NULL)") == len(swaps)
    first = decode(swaps[0].value, PoolSwap).data
    row = clickhouse.query(
        f"SELECT event, amount0, amount1, reserve0, reserve1, block_number, log_index "
        f"FROM {db}.pool_swaps WHERE tx_hash = %(tx)s AND log_index = %(i)s",
        parameters={"tx": first.tx_hash, "i": first.log_index},
    ).result_rows
    assert row == [
        (first.event, first.amount0, first.amount1, first.reserve0, first.reserve1,
         11017338, first.log_index)
    ]  # fmt: skip
    transfers = dict(
        clickhouse.query(
            f"SELECT tx_hash, (l2, direction, stage, token, amount, amount_raw, chain) "
            f"FROM {db}.bridge_transfers"
        ).result_rows
    )
    assert len(transfers) == 7
    eth = transfers["0x3da542a1670a828838d2916d33be51de1b505e8700ffbb4ef26f31abc4184bc1"]
    assert eth == (
        "optimism",
        "deposit",
        "initiated",
        "ETH",
        100.857001,
        "100857001000000000000",
        "ethereum",
    )
    crv = transfers["0xf96590b94c25df375eaa0cece0477d2a3b3fe1756d221f9efa1bf48ae9117701"]
    assert crv[5] == "3690872887087038569213" and crv[6] == "optimism"
    usdt = transfers["0x39aa325d33222ab596525fb382e8a775b6b661c4fb9471e11f6b34a9478568e8"]
    assert usdt[:5] == ("arbitrum", "deposit", "initiated", "USDT", 20.0)
