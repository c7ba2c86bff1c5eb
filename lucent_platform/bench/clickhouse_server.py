"""Insert rate through the embedded ClickHouse server against chDB itself, on one core.

Trades-shaped rows (DateTime64, LowCardinality and plain strings, Float64) in batches. The
contenders, all pinned to the same core with the server process:
- chDB direct: the same Native bytes appended to a chDB session in this process (the ceiling);
- server, pre-encoded Native: those bytes through HTTP and the server (its own overhead);
- server, ``client.insert`` of Python rows and ``client.insert_df`` of a DataFrame, which is
  what the sink and Dagster assets do (clickhouse-connect encodes Native, streams it chunked).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lucent_platform.adapters.clickhouse import connect
from lucent_platform.stack import services
from lucent_platform.stack.ports import LOOPBACK, free_port

DDL = """CREATE TABLE IF NOT EXISTS trades (ts DateTime64(3), exchange LowCardinality(String),
    pair LowCardinality(String), trade_id String, price Float64, amount Float64,
    side LowCardinality(String)) ENGINE = MergeTree ORDER BY (exchange, pair, ts)"""
COLUMNS = ["ts", "exchange", "pair", "trade_id", "price", "amount", "side"]


def trades(rows: int, seed: int = 7) -> pd.DataFrame:
    """``rows`` trades over 3 venues × 4 pairs, millisecond timestamps, unique ids."""
    rng, step = np.random.default_rng(seed), np.arange(rows)
    return pd.DataFrame(
        {
            "ts": pd.Timestamp("2026-01-01") + pd.to_timedelta(step, unit="ms"),
            "exchange": np.array(["binance", "coinbase", "kraken"])[step % 3],
            "pair": np.array(["BTC-USDT", "ETH-USDT", "ETH-USDC", "SOL-USDT"])[step % 4],
            "trade_id": [f"t{i}" for i in step],
            "price": 100.0 + rng.random(rows) * 10,
            "amount": rng.random(rows),
            "side": np.array(["buy", "sell"])[step % 2],
        }
    )


def best_rate(rows: int, rounds: int, run: Callable[[], Any]) -> float:
    """Rows per second of the fastest of ``rounds`` runs."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return rows / best


def run(rows: int = 100_000, rounds: int = 5, echo: bool = True) -> dict[str, float]:
    """Measure every contender; figures in rows/s."""
    from lucent_platform.embedded.clickhouse_engine import ChdbEngine

    core = {min(os.sched_getaffinity(0))}
    os.sched_setaffinity(0, core)
    frame = trades(rows)
    records = frame.to_numpy().tolist()
    with tempfile.TemporaryDirectory(prefix="lucent-bench-ch-") as tmp:
        engine = ChdbEngine(Path(tmp) / "direct")
        chdb = engine._session  # the ceiling: chDB with no server in front
        chdb.query(DDL, "TabSeparated")
        port = free_port()
        server = services.clickhouse_server(port, Path(tmp) / "served", Path(tmp))
        server.start()
        try:
            server.wait_ready()
            assert server.popen is not None
            os.sched_setaffinity(server.popen.pid, core)
            client = connect(f"http://{LOOPBACK}:{port}")
            client.command(DDL)
            client.insert_df("trades", frame)
            native = client.raw_query("SELECT * FROM trades FORMAT Native")
            client.command("TRUNCATE TABLE trades")

            def direct() -> None:
                with chdb.send_insert("INSERT INTO trades", "Native") as inserter:
                    inserter.append(native)
                    inserter.finish()

            figures = {
                "chdb_direct_native": best_rate(rows, rounds, direct),
                "server_raw_native": best_rate(
                    rows,
                    rounds,
                    lambda: client.raw_insert("trades", COLUMNS, native, fmt="Native"),
                ),
                "server_insert_rows": best_rate(
                    rows, rounds, lambda: client.insert("trades", records, column_names=COLUMNS)
                ),
                "server_insert_df": best_rate(
                    rows, rounds, lambda: client.insert_df("trades", frame)
                ),
            }
            client.close()
        finally:
            server.stop()
            engine.close()
    if echo:
        print(f"{rows:,}-row trade batches, best of {rounds}, one core (rows/s):")
        ceiling = figures["chdb_direct_native"]
        for name, rate in figures.items():
            print(f"  {name:<20} {rate:>12,.0f}  {rate / ceiling:5.2f}× chDB direct")
    return figures
