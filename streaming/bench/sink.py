"""The ClickHouse sink: rows/s from Kafka into the embedded server on one core, against raw
chDB in the same run, and the design record's two queries on 10M rows.

Measured in one process pinned to one core (the broker and the embedded server keep every
core, as services on their own machines would):

- ``sink``: simulated trade envelopes on ``market.trades.all`` (6 partitions), stored by the
  sink (``streaming.sink.worker.run``, its default batching) into the embedded server through
  clickhouse-connect; rows/s from its first row landing to its last (group join excluded);
- ``chdb direct``: the very rows the sink stored, read back as Native and inserted in one
  statement into an in-process chDB session with the same schema (``trades`` and its candle
  views): the ceiling on that core, no Kafka, no decoding, no HTTP;
- query latency (median and best of ``rounds``, through clickhouse-connect to the embedded
  server) of "top 20 pairs by volume today" (``queries.top_volume``) over the candles of
  ``query_rows`` trades, and "real-time yield opportunities, APY > 5 %, TVL > 1M"
  (``queries.yield_opportunities``) over ``query_rows`` yield rates. Those rows are made in the
  server with ``INSERT … SELECT FROM numbers()``: 200 pairs with a skewed (cubic) popularity
  over 3 venues spread over today, log-normal prices, exponential sizes; 10,000 pools with
  exponential APYs (mean 4 %) and log-normal TVLs.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lucent_platform.adapters import kafka
from lucent_platform.adapters.clickhouse import connect
from lucent_platform.analytics.migrate import load_migrations, migrate
from lucent_platform.analytics.queries import top_volume, yield_opportunities
from lucent_platform.analytics.schema import COLUMNS
from lucent_platform.config import Settings, with_overrides
from lucent_platform.envelope import encode, new_envelope
from lucent_platform.messages import Trade
from lucent_platform.stack import services
from lucent_platform.stack.ports import LOOPBACK, free_port
from lucent_platform.topics import Kind, fixed_topics, normalized
from streaming.bench.feed import pin_to_one_core
from streaming.lifecycle import StopSignal
from streaming.sink.worker import SinkOptions
from streaming.sink.worker import run as run_sink

PAIRS = ("BTC-USDT", "ETH-USDT", "ETH-USDC", "SOL-USDT", "XRP-USDT", "DOGE-USDT", "ADA-USDT")
EXCHANGES = ("binance", "coinbase", "kraken")


def simulated_trades(n: int, start_ms: int) -> list[tuple[bytes, bytes]]:
    """``n`` encoded trade envelopes (key, value), 1 ms apart, over 7 pairs and 3 venues."""
    out = []
    for i in range(n):
        pair = PAIRS[(i * 7919) % len(PAIRS)]
        trade = Trade(
            exchange=EXCHANGES[i % 3], pair=pair, price=100.0 + (i % 1000) * 0.01,
            amount=0.001 + (i % 97) * 0.01, trade_id=str(i), side="buy" if i % 2 else "sell",
        )  # fmt: skip
        envelope = new_envelope(
            trade, source="bench", event_time_ms=start_ms + i, received_time_ms=start_ms + i + 5
        )
        out.append((pair.encode(), encode(envelope)))
    return out


def run(
    messages: int = 200_000, query_rows: int = 10_000_000, rounds: int = 5, echo: bool = True
) -> dict[str, Any]:
    say = print if echo else (lambda *_: None)
    results: dict[str, Any] = {"messages": messages, "query_rows": query_rows}
    with tempfile.TemporaryDirectory(prefix="lucent-bench-sink-") as tmp:
        root = Path(tmp)
        kafka_port, ch_port = free_port(), free_port()
        broker = services.kafka_broker(kafka_port, root)
        server = services.clickhouse_server(ch_port, root / "clickhouse", root)
        broker.start()
        server.start()
        try:
            broker.wait_ready()
            server.wait_ready()
            results["core"] = pin_to_one_core()
            bootstrap, url = f"{LOOPBACK}:{kafka_port}", f"http://{LOOPBACK}:{ch_port}"
            settings = Settings(_env_file=None, data_dir=root)  # type: ignore[call-arg]
            say(f"producing {messages:,} trade envelopes …")
            _produce(settings, bootstrap, simulated_trades(messages, _ms(time.time()) - messages))
            say("sink: Kafka → embedded ClickHouse …")
            results.update(_sink(settings, bootstrap, url, messages))
            say("chDB direct, same rows …")
            results.update(_chdb_direct(url, root / "chdb", settings.clickhouse_database))
            say(f"queries on {query_rows:,} rows …")
            results.update(_queries(settings, url, query_rows, rounds, say))
        finally:
            server.stop()
            broker.stop()
    results["ratio_sink_vs_chdb"] = results["sink_rows_per_s"] / results["chdb_direct_rows_per_s"]
    if echo:
        print(format_table(results))
    return results


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _produce(settings: Settings, bootstrap: str, records: list[tuple[bytes, bytes]]) -> None:
    kafka.provision(kafka.admin(settings, bootstrap), fixed_topics(), replication_factor=1,
                    min_insync_replicas=1)  # fmt: skip
    producer = kafka.producer(settings, bootstrap, **{"linger.ms": 20})
    topic = normalized(Kind.TRADES)
    for key, value in records:
        while True:
            try:
                producer.produce(topic, value, key)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    if producer.flush(60):
        raise RuntimeError("the broker did not take every benchmark record")


def _count(client: Any, database: str) -> int:
    return int(client.query(f"SELECT count() FROM `{database}`.trades").result_rows[0][0])


def _sink(settings: Settings, bootstrap: str, url: str, expected: int) -> dict[str, Any]:
    stop = StopSignal()
    metrics: list[Any] = []
    sink = threading.Thread(
        target=lambda: metrics.append(
            run_sink(settings, bootstrap, url, stop, options=SinkOptions.from_settings(settings))
        )
    )
    sink.start()
    client = connect(url)
    try:
        first_at, first = 0.0, 0
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            n = _count(client, settings.clickhouse_database) if _migrated(client) else 0
            if n and not first_at:
                first_at, first = time.monotonic(), n
            if n >= expected:
                break
            time.sleep(0.05)
        done_at = time.monotonic()
    finally:
        stop.set()
        sink.join(60)
        client.close()
    counts = metrics[0].counts if metrics else {}
    stored = expected - first
    return {
        "sink_rows_per_s": stored / (done_at - first_at) if done_at > first_at else 0.0,
        "sink_batches": counts.get("batches", 0),
        "sink_insert_ms": metrics[0].insert_ms.summary() if metrics else {},
        "sink_batch_rows": settings.sink_batch_rows,
    }


def _migrated(client: Any) -> bool:
    return bool(
        client.query("SELECT count() FROM system.tables WHERE name = 'trades'").result_rows[0][0]
    )


def _chdb_direct(url: str, data_dir: Path, database: str) -> dict[str, Any]:
    from chdb import session  # the ceiling: chDB in this process, on this core

    client = connect(url)
    columns = ", ".join(COLUMNS["trades"])
    native = client.raw_query(f"SELECT {columns} FROM `{database}`.trades FORMAT Native")
    rows = _count(client, database)
    client.close()
    chdb = session.Session(str(data_dir))
    try:
        chdb.query(f"CREATE DATABASE IF NOT EXISTS `{database}`", "TabSeparated")
        for migration in load_migrations():
            for statement in migration.statements(database):
                chdb.query(statement, "TabSeparated")
        started = time.perf_counter()
        with chdb.send_insert(f"INSERT INTO `{database}`.trades ({columns})", "Native") as ins:
            ins.append(native)
            ins.finish()
        seconds = time.perf_counter() - started
    finally:
        chdb.close()
    return {"chdb_direct_rows_per_s": rows / seconds, "chdb_direct_rows": rows}


def _queries(
    settings: Settings, url: str, rows: int, rounds: int, say: Callable[..., None]
) -> dict[str, Any]:
    database = "bench_queries"
    client = connect(url, send_receive_timeout=1800)
    migrate(client, with_overrides(settings, clickhouse_database=database))
    now = datetime.now(UTC)
    midnight_ms = _ms(now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())
    span_ms = max(_ms(now.timestamp()) - midnight_ms, 60_000)
    params = {"n": rows, "start": midnight_ms, "span": span_ms}
    started = time.perf_counter()
    client.command(TRADES_SQL.format(db=database), parameters=params)
    client.command(YIELDS_SQL.format(db=database), parameters=params)
    fill_s = time.perf_counter() - started
    say(f"  {2 * rows:,} rows generated in {fill_s:.1f}s")

    def timed(query: Callable[[], list[Any]]) -> dict[str, Any]:
        answer = query()  # warm: first read of the parts
        times = []
        for _ in range(rounds):
            t = time.perf_counter()
            query()
            times.append((time.perf_counter() - t) * 1000.0)
        return {"median_ms": statistics.median(times), "best_ms": min(times), "rows": len(answer)}

    figures = {
        "query_fill_s": fill_s,
        "top_volume_today": timed(lambda: top_volume(client, database=database)),
        "yield_opportunities": timed(lambda: yield_opportunities(client, database=database)),
    }
    client.close()
    return figures


TRADES_SQL = """INSERT INTO `{db}`.trades
    (message_id, event_time, received_time, source, exchange, pair, price, amount, trade_id, side)
SELECT
    concat('bench-', toString(number)),
    fromUnixTimestamp64Milli(toInt64({{start:Int64}} + intDiv(number * {{span:Int64}}, {{n:UInt64}}))),
    fromUnixTimestamp64Milli(toInt64({{start:Int64}} + intDiv(number * {{span:Int64}}, {{n:UInt64}}) + 5)),
    'bench',
    ['binance', 'coinbase', 'kraken'][1 + number % 3],
    concat('P', toString(p), '-USDT'),
    100 * exp(p / 40) * (1 + ((cityHash64(number, 2) % 10000) / 10000 - 0.5) / 100),
    -log((cityHash64(number, 3) % 1000000 + 1) / 1000001),
    toString(number),
    if(number % 2 = 1, 'buy', 'sell')
FROM
(
    SELECT number, toUInt32(floor(pow((cityHash64(number, 1) % 1000000) / 1000000, 3) * 200)) AS p
    FROM numbers({{n:UInt64}})
)"""  # noqa: E501

YIELDS_SQL = """INSERT INTO `{db}`.yields
    (message_id, event_time, received_time, source, protocol, pool, asset, chain, apy, tvl_usd,
     supply_apy, borrow_apy)
SELECT
    concat('bench-', toString(number)),
    fromUnixTimestamp64Milli(toInt64({{start:Int64}} + intDiv(number * {{span:Int64}}, {{n:UInt64}}))),
    fromUnixTimestamp64Milli(toInt64({{start:Int64}} + intDiv(number * {{span:Int64}}, {{n:UInt64}}) + 5)),
    'bench',
    ['aave-v3', 'compound-v3', 'morpho', 'spark', 'curve'][1 + pool % 5],
    concat('pool-', toString(pool)),
    ['USDC', 'USDT', 'DAI', 'WETH'][1 + pool % 4],
    ['ethereum', 'arbitrum', 'base', 'optimism'][1 + intDiv(pool, 5) % 4],
    -4 * log((cityHash64(number, 4) % 1000000 + 1) / 1000001),
    exp(10 + 6 * (cityHash64(pool, 5) % 10000) / 10000),
    NULL,
    NULL
FROM (SELECT number, number % 10000 AS pool FROM numbers({{n:UInt64}}))"""  # noqa: E501


def format_table(r: dict[str, Any]) -> str:
    top, yields = r["top_volume_today"], r["yield_opportunities"]
    return "\n".join(
        [
            f"ClickHouse sink, {r['messages']:,} trades, one core (core {r['core']}):",
            f"  sink, Kafka → embedded server  {r['sink_rows_per_s']:>12,.0f} rows/s"
            f"  ({r['sink_batches']} batches of ≤{r['sink_batch_rows']} per partition, "
            f"insert p50 {r['sink_insert_ms'].get('p50', 0)} ms)",
            f"  chDB direct, same rows          {r['chdb_direct_rows_per_s']:>12,.0f} rows/s"
            f"  (sink = {r['ratio_sink_vs_chdb']:.2f}× the ceiling)",
            f"queries over {r['query_rows']:,} trades / yield rates "
            f"(generated in {r['query_fill_s']:.1f}s), median / best of the rounds:",
            f"  top 20 pairs by volume today    {top['median_ms']:8.1f} / {top['best_ms']:.1f} ms"
            f"  ({top['rows']} rows)",
            f"  yield opportunities >5%, >1M    {yields['median_ms']:8.1f} / "
            f"{yields['best_ms']:.1f} ms  ({yields['rows']} rows)",
        ]
    )
