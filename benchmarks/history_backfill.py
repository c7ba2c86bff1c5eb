"""Backfill rate: a whole day of Binance candles from a local exchange into ClickHouse.

    .venv/bin/python -m benchmarks.history_backfill [--rounds 5]

The local exchange serves Binance's recorded ADABTC 1-minute klines of 2021-11-27 (1,440
candles, ``tests/history_server.py``) as the REST API pages them; the embedded ClickHouse
server is started as ``lucent up`` starts it. Each round is what one ``ohlcv_history`` run does
after ccxt is imported: a fresh ccxt client (markets fetched again), the day's pages with
ccxt's rate limiter on at Binance's own figures, rows, delete-then-insert of the partition,
the stored count read back. A last measurement materializes the Dagster asset in-process
(ephemeral instance), which adds Dagster's run machinery and the migrations check. Figures:
the median round, printed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import dagster as dg

from assets.history import instruments_partitions, ohlcv_history
from lucent_platform.adapters.clickhouse import connect
from lucent_platform.analytics import migrate
from lucent_platform.config import load_settings, with_overrides
from lucent_platform.connectors.rest import RestHistory
from lucent_platform.history import day_window, parse_instrument_key
from lucent_platform.history.rows import candle_rows
from lucent_platform.history.store import OHLCV_TABLE, count_partition, replace_partition
from resources import ClickHouseResource
from resources.exchanges import ExchangeRestResource
from tests.fixtures.clickhouse import running_server
from tests.history_server import history_server, rest_urls

DAY = "2021-11-27"
INSTRUMENT = "binance:ADA-BTC"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    instrument, window = parse_instrument_key(INSTRUMENT), day_window(DAY)
    with (
        tempfile.TemporaryDirectory() as tmp,
        history_server() as exchange,
        running_server(Path(tmp) / "data", Path(tmp) / "server.log") as server,
    ):
        database = "bench_history"
        client = connect(server.url)
        migrate(client, with_overrides(load_settings(), clickhouse_database=database))
        url = rest_urls(exchange)["binance"]
        RestHistory("binance", rest_url=url).candles(instrument, window)  # import ccxt
        fetch_s, store_s, requests = [], [], 0
        for _ in range(rounds):
            began = time.perf_counter()
            fetched = RestHistory("binance", rest_url=url).candles(instrument, window)
            rows = candle_rows(instrument, "1m", fetched.items, window)
            fetched_at = time.perf_counter()
            replace_partition(
                client, database, OHLCV_TABLE, instrument, window, rows.rows, interval="1m"
            )
            stored = count_partition(
                client, database, OHLCV_TABLE, instrument, window, interval="1m"
            )
            store_s.append(time.perf_counter() - fetched_at)
            fetch_s.append(fetched_at - began)
            requests = fetched.requests
            assert stored == 1440, stored
        fetch, store = statistics.median(fetch_s), statistics.median(store_s)
        print(f"day of 1m candles: {stored} candles, {requests} requests (markets + pages)")
        print(f"fetch (ccxt, rate limiter on, local server): {fetch * 1000:.0f} ms")
        print(f"store (delete + insert + count, embedded ClickHouse): {store * 1000:.0f} ms")
        print(f"backfill rate: {stored / (fetch + store):,.0f} candles/s")
        began = time.perf_counter()
        with dg.DagsterInstance.ephemeral() as instance:
            instance.add_dynamic_partitions(instruments_partitions.name, [INSTRUMENT])
            result = dg.materialize(
                [ohlcv_history],
                instance=instance,
                partition_key=dg.MultiPartitionKey({"date": DAY, "instrument": INSTRUMENT}),
                resources={
                    "clickhouse": ClickHouseResource(url=server.url, database=database),
                    "exchange_rest": ExchangeRestResource(rest_urls=rest_urls(exchange)),
                },
            )
        seconds = time.perf_counter() - began
        assert result.success
        print(f"Dagster asset run in process: {seconds:.2f} s ({stored / seconds:,.0f} candles/s)")
        client.close()


if __name__ == "__main__":
    main()
