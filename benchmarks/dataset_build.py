"""Training-dataset build time for one day of data: ``datasets/features`` over a UTC day of
prices, trades and yields at the local simulator's rates, in the embedded ClickHouse.

    .venv/bin/python -m benchmarks.dataset_build [--rounds 3] [--scale 1.0]

The day is generated inside ClickHouse (``INSERT … SELECT FROM numbers``) at the rates
measured from `lucent up`'s simulator on 2026-11-28 (3 pairs × 3 venues; per second ≈ 9.5
price updates, 28 trades, 0.9 pool rates; ``--scale`` multiplies them): a random walk per
pair, venues quoting around it with sizes (book depth on binance), trades both sides, three
pools (ETH, USDC, 3CRV). Each round is one ``build_day`` (the per-bar queries and the feature
code, 3 pairs × 1,440 one-minute bars); a last measurement materializes the Dagster asset in
process (adds Parquet, the ``dataset_features`` rewrite and the card). Median round printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from assets.datasets import features
from lucent_platform.adapters.clickhouse import connect
from lucent_platform.analytics import migrate
from lucent_platform.config import load_settings, with_overrides
from lucent_platform.datasets.config import dataset_config
from lucent_platform.datasets.day import build_day, day_range_ms
from resources import ClickHouseResource, StorageResource
from tests.fixtures.clickhouse import running_server

if TYPE_CHECKING:
    from lucent_platform.adapters.clickhouse import Client

DAY = date(2026, 11, 27)
PAIRS = ("BTC-USDT", "ETH-USDT", "ETH-USDC")
RATES = {"prices": 9.5, "trades": 28.0, "yields": 0.9}  # per second, the simulator's

_WALK = "exp(0.002 * sin(number / 3000.0) + 0.001 * sin(number / 170.0 + {k}))"


def generate(client: Client, database: str, scale: float) -> dict[str, int]:
    start, _ = day_range_ms(DAY)
    counts = {table: int(rate * scale * 86_400) for table, rate in RATES.items()}
    step = {table: 86_400_000 / n for table, n in counts.items()}
    pair = "['BTC-USDT', 'ETH-USDT', 'ETH-USDC'][number % 3 + 1]"
    base = "[60000.0, 3000.0, 3001.0][number % 3 + 1]"
    venue = "['binance', 'coinbase', 'kraken'][intDiv(number, 3) % 3 + 1]"
    at = "fromUnixTimestamp64Milli(toInt64({start} + number * {step}), 'UTC')"
    mid = f"{base} * {_WALK.format(k='number % 3')} * (1 + (randCanonical() - 0.5) / 5000)"
    statements = [
        f"""INSERT INTO {database}.prices (message_id, event_time, received_time, source,
    exchange, pair, price, bid, ask, bid_size, ask_size, depth_bid_size, depth_ask_size)
SELECT toString(number), t, t, 'bench', {venue}, {pair}, m, m * 0.9999, m * 1.0001,
    randCanonical() * 5, randCanonical() * 5,
    if({venue} = 'binance', randCanonical() * 50, NULL),
    if({venue} = 'binance', randCanonical() * 50, NULL)
FROM (SELECT number, {at.format(start=start, step=step["prices"])} AS t, {mid} AS m
      FROM numbers({counts["prices"]}))""",
        f"""INSERT INTO {database}.trades (message_id, event_time, received_time, source,
    exchange, pair, price, amount, trade_id, side)
SELECT toString(number), t, t, 'bench', {venue}, {pair}, m, randCanonical() * 2,
    toString(number), if(rand() % 2 = 0, 'buy', 'sell')
FROM (SELECT number, {at.format(start=start, step=step["trades"])} AS t, {mid} AS m
      FROM numbers({counts["trades"]}))""",
        f"""INSERT INTO {database}.yields (message_id, event_time, received_time, source,
    protocol, pool, asset, chain, apy, tvl_usd)
SELECT toString(number), {at.format(start=start, step=step["yields"])} AS t, t, 'bench',
    ['aave-v3', 'compound', 'curve'][number % 3 + 1],
    ['eth-lending', 'usdc-lending', '3pool'][number % 3 + 1],
    ['ETH', 'USDC', '3CRV'][number % 3 + 1], 'ethereum', 2 + randCanonical() * 3, 1e8
FROM numbers({counts["yields"]})""",
    ]
    for statement in statements:
        client.command(statement)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with running_server(root / "data", root / "server.log") as server:
            database = "bench_datasets"
            client = connect(server.url)
            migrate(client, with_overrides(load_settings(), clickhouse_database=database))
            began = time.perf_counter()
            counts = generate(client, database, args.scale)
            print(f"day {DAY}: {counts} rows generated in {time.perf_counter() - began:.1f} s")
            config = dataset_config({"pairs": list(PAIRS), "interval": "1m"})
            seconds, rows = [], 0
            for _ in range(args.rounds):
                began = time.perf_counter()
                frame = build_day(client, database, config, DAY)
                seconds.append(time.perf_counter() - began)
                rows = len(frame)
            median = statistics.median(seconds)
            rate = sum(counts.values()) / median
            print(f"build_day, {len(PAIRS)} pairs × 1m bars: {rows} rows in {median:.2f} s "
                  f"(median of {args.rounds}; {rate:,.0f} input rows/s)")  # fmt: skip
            os.environ["LUCENT_DATASET_CONFIG"] = json.dumps(config.as_json())
            began = time.perf_counter()
            result = dg.materialize(
                [features],
                partition_key=str(DAY),
                resources={
                    "clickhouse": ClickHouseResource(url=server.url, database=database),
                    "storage": StorageResource(data_dir=str(root / "lucent")),
                },
            )
            assert result.success
            meta = result.asset_materializations_for_node("datasets__features")[0].metadata
            inside = meta["build seconds"].value
            print(f"Dagster asset run in process: {time.perf_counter() - began:.2f} s, of which "
                  f"build + Parquet + table rewrite {inside:.2f} s")  # fmt: skip
            client.close()


if __name__ == "__main__":
    main()
