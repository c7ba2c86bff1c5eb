"""Backfill assets materialized in-process: recorded exchange answers from a local server,
through ccxt, into the embedded ClickHouse; the instrument sensor and the daily schedule."""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import dagster as dg
import pytest

from assets.history import (
    history_daily_schedule,
    history_partitions,
    instruments_partitions,
    ohlcv_history,
    trades_history,
)
from resources import ClickHouseResource
from resources.exchanges import ExchangeRestResource
from sensors.instruments import instrument_partitions_sensor
from tests.exchange_server import ExchangeServer
from tests.history_server import (
    ADABTC_CSV,
    AGG_TRADES,
    KLINES,
    KRAKEN_OHLC,
    KRAKEN_TRADES_CASE,
    dump_klines,
    history_server,
    rest_urls,
)

if TYPE_CHECKING:
    from clickhouse_connect.driver import Client

    from tests.fixtures.clickhouse import EmbeddedClickHouse

BINANCE_DAY = "2021-10-22"
KRAKEN_DAY = "2025-11-10"


@pytest.fixture(scope="module")
def server() -> Iterator[ExchangeServer]:
    with history_server() as running:
        yield running


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


def resources(
    server: ExchangeServer, clickhouse_server: EmbeddedClickHouse, clickhouse: Client, **rest: Any
) -> dict[str, Any]:
    return {
        "clickhouse": ClickHouseResource(url=clickhouse_server.url, database=clickhouse.database),
        "exchange_rest": ExchangeRestResource(rest_urls=rest_urls(server), **rest),
    }


def materialize(
    assets: list[Any], day: str, instrument: str, instance: dg.DagsterInstance, **kwargs: Any
) -> dg.ExecuteInProcessResult:
    instance.add_dynamic_partitions(instruments_partitions.name, [instrument])
    key = dg.MultiPartitionKey({"date": day, "instrument": instrument})
    return dg.materialize(assets, partition_key=key, instance=instance, **kwargs)


def metadata(result: dg.ExecuteInProcessResult, asset: Any) -> dict[str, Any]:
    event = result.asset_materializations_for_node(asset.op.name)[0]
    return {name: value.value for name, value in event.metadata.items()}


def test_binance_day_lands_exactly_as_recorded_and_reruns_replace_it(
    server: ExchangeServer,
    clickhouse_server: EmbeddedClickHouse,
    clickhouse: Client,
    instance: dg.DagsterInstance,
) -> None:
    # three rows per request: the ten recorded candles take four pages, the trades' hour
    # several overlapping ones
    res = resources(server, clickhouse_server, clickhouse, page_limit=3)
    result = materialize([ohlcv_history, trades_history], BINANCE_DAY, "binance:BTC-USDT",
                         instance, resources=res)  # fmt: skip
    assert result.success

    candles = clickhouse.query(
        "SELECT exchange, pair, interval, toUnixTimestamp64Milli(open_time), open, high, low, "
        "close, volume FROM ohlcv_history ORDER BY open_time"
    ).result_rows
    assert candles == [
        ("binance", "BTC-USDT", "1m", k[0], float(k[1]), float(k[2]), float(k[3]),
         float(k[4]), float(k[5]))
        for k in KLINES
    ]  # fmt: skip
    trades = clickhouse.query(
        "SELECT exchange, pair, trade_id, toUnixTimestamp64Milli(time), price, amount, side "
        "FROM trades_history ORDER BY time, trade_id"
    ).result_rows
    assert trades == [
        ("binance", "BTC-USDT", str(t["a"]), t["T"], float(t["p"]), float(t["q"]),
         "sell" if t["m"] else "buy")  # the buyer was the maker: a sell took the bid
        for t in AGG_TRADES
    ]  # fmt: skip
    meta = metadata(result, ohlcv_history)
    # markets, then pages from 23:03, 23:06, 23:09, 23:12 and an empty one from 23:13
    assert meta["rows"] == 10 and meta["requests"] == 6
    assert meta["missing_candles"] == 1440 - 10
    trade_meta = metadata(result, trades_history)
    assert trade_meta["rows"] == 10 and trade_meta["duplicates_dropped"] > 0

    again = materialize([ohlcv_history, trades_history], BINANCE_DAY, "binance:BTC-USDT",
                        instance, resources=res)  # fmt: skip
    assert again.success
    counts = [clickhouse.query(f"SELECT count() FROM {t}").result_rows[0][0]
              for t in ("ohlcv_history", "trades_history")]  # fmt: skip
    assert counts == [10, 10]  # plain count(), no FINAL: the re-run replaced its partition


def test_a_full_binance_day_takes_two_default_pages_and_has_no_gap(
    server: ExchangeServer,
    clickhouse_server: EmbeddedClickHouse,
    clickhouse: Client,
    instance: dg.DagsterInstance,
) -> None:
    res = resources(server, clickhouse_server, clickhouse)  # Binance's own limit: 1000
    result = materialize([ohlcv_history], "2021-11-27", "binance:ADA-BTC", instance,
                         resources=res)  # fmt: skip
    assert result.success
    recorded = dump_klines(ADABTC_CSV)
    stored = clickhouse.query(
        "SELECT toUnixTimestamp64Milli(open_time), open, close, volume FROM ohlcv_history "
        "WHERE pair = 'ADA-BTC' ORDER BY open_time"
    ).result_rows
    assert stored == [(k[0], float(k[1]), float(k[4]), float(k[5])) for k in recorded]
    meta = metadata(result, ohlcv_history)
    assert (meta["rows"], meta["missing_candles"], meta["requests"]) == (1440, 0, 3)


def test_kraken_day_pages_through_720_candle_answers_and_reports_its_gap(
    server: ExchangeServer,
    clickhouse_server: EmbeddedClickHouse,
    clickhouse: Client,
    instance: dg.DagsterInstance,
) -> None:
    # Kraken's own limiter spaces requests by 1 s; 50 ms keeps the test short, limiter still on
    res = resources(server, clickhouse_server, clickhouse, page_limit=300, rate_limit_ms=50)
    result = materialize([ohlcv_history], KRAKEN_DAY, "kraken:BTC-USDT", instance, resources=res)
    assert result.success
    day_start = int(datetime(2025, 11, 10, tzinfo=UTC).timestamp())
    recorded = [row for row in KRAKEN_OHLC["result"]["XBTUSDT"]
                if day_start <= row[0] < day_start + 86_400]  # fmt: skip
    stored = clickhouse.query(
        "SELECT toUnixTimestamp64Milli(open_time), open, high, low, close, volume "
        "FROM ohlcv_history WHERE exchange = 'kraken' AND pair = 'BTC-USDT' ORDER BY open_time"
    ).result_rows
    assert len(recorded) == 703  # 12:17 to 23:59; the recording starts at 12:17
    assert stored == [
        (row[0] * 1000, float(row[1]), float(row[2]), float(row[3]), float(row[4]),
         float(row[6]))  # Kraken: time, open, high, low, close, vwap, volume, count
        for row in recorded
    ]  # fmt: skip
    meta = metadata(result, ohlcv_history)
    assert meta["missing_candles"] == 12 * 60 + 17  # 00:00–12:17 had no recorded candles
    assert meta["outside_day"] == 18  # the answer ran on to 00:17 the next day
    assert meta["requests"] == 4  # markets + 300 + 300 + the rest


def test_kraken_trades_are_stored_as_ccxt_parses_them(
    server: ExchangeServer,
    clickhouse_server: EmbeddedClickHouse,
    clickhouse: Client,
    instance: dg.DagsterInstance,
) -> None:
    res = resources(server, clickhouse_server, clickhouse, rate_limit_ms=50)
    result = materialize([trades_history], "2024-03-13", "kraken:BTC-USDT", instance,
                         resources=res)  # fmt: skip
    assert result.success
    stored = clickhouse.query(
        "SELECT trade_id, toUnixTimestamp64Milli(time), price, amount, side FROM trades_history"
    ).result_rows
    # ccxt's own test case says what its parser makes of the recorded answer
    (expected,) = KRAKEN_TRADES_CASE["parsedResponse"]
    assert stored == [(expected["id"], expected["timestamp"], expected["price"],
                       expected["amount"], expected["side"])]  # fmt: skip
    assert metadata(result, trades_history)["requests"] == 2  # markets + one short page


def test_requests_are_spaced_by_the_rate_limiter(
    server: ExchangeServer,
    clickhouse_server: EmbeddedClickHouse,
    clickhouse: Client,
    instance: dg.DagsterInstance,
) -> None:
    res = resources(server, clickhouse_server, clickhouse, page_limit=3, rate_limit_ms=400)
    first = len(server.rest_times)
    result = materialize([ohlcv_history], BINANCE_DAY, "binance:BTC-USDT", instance,
                         resources=res)  # fmt: skip
    assert result.success
    pages = server.rest_times[first + 1 :]  # after the markets request
    gaps = [b - a for a, b in itertools.pairwise(pages)]
    assert len(gaps) == 4
    # ccxt weighs Binance klines with limit < 100 at 0.4 of a request: 160 ms apart (times
    # are taken by the server, whose thread a loaded box may delay for one request, not all)
    assert statistics.median(gaps) >= 0.15 and min(gaps) >= 0.1, gaps
    assert metadata(result, ohlcv_history)["rate_limit_ms"] == 400


def test_an_unreachable_exchange_fails_fast_with_a_clear_message(
    clickhouse_server: EmbeddedClickHouse, clickhouse: Client, instance: dg.DagsterInstance
) -> None:
    res = {
        "clickhouse": ClickHouseResource(url=clickhouse_server.url, database=clickhouse.database),
        "exchange_rest": ExchangeRestResource(
            rest_urls={"binance": "http://127.0.0.1:9/api/v3"}, timeout_ms=2000
        ),
    }
    began = time.monotonic()
    result = materialize([ohlcv_history], BINANCE_DAY, "binance:BTC-USDT", instance,
                         resources=res, raise_on_error=False)  # fmt: skip
    assert not result.success
    assert time.monotonic() - began < 30
    failure = result.failure_data_for_node(ohlcv_history.op.name)
    assert failure is not None
    assert "binance: cannot reach its REST API at http://127.0.0.1:9/api/v3" in (
        failure.user_failure_data.description or ""
    )


def test_trades_of_a_venue_paging_by_id_only_are_skipped_not_faked(
    server: ExchangeServer,
    clickhouse_server: EmbeddedClickHouse,
    clickhouse: Client,
    instance: dg.DagsterInstance,
) -> None:
    requests_before = len(server.rest_requests)
    res = resources(server, clickhouse_server, clickhouse)
    result = materialize([trades_history], BINANCE_DAY, "coinbase:BTC-USD", instance,
                         resources=res)  # fmt: skip
    assert result.success
    assert result.asset_materializations_for_node(trades_history.op.name) == []
    assert len(server.rest_requests) == requests_before  # nothing asked of any exchange


def test_sensor_adds_a_partition_per_new_instrument_on_the_streams(
    clickhouse_server: EmbeddedClickHouse, clickhouse: Client, instance: dg.DagsterInstance
) -> None:
    resource = ClickHouseResource(url=clickhouse_server.url, database=clickhouse.database)

    def evaluate() -> dg.SensorResult | dg.SkipReason:
        context = dg.build_sensor_context(instance=instance, resources={"clickhouse": resource})
        return instrument_partitions_sensor(context)

    assert isinstance(evaluate(), dg.SkipReason)  # no tables yet: nothing seen, no error
    from lucent_platform.analytics import migrate
    from lucent_platform.config import load_settings, with_overrides

    migrate(clickhouse, with_overrides(load_settings(), clickhouse_database=clickhouse.database))
    instance.add_dynamic_partitions(instruments_partitions.name, ["binance:BTC-USDT"])
    now = datetime(2026, 11, 28, tzinfo=UTC)
    common = ["message_id", "event_time", "received_time", "source", "exchange", "pair", "price"]
    clickhouse.insert("prices", [
        ["m1", now, now, "binance-websocket", "binance", "BTC-USDT", 1.0],
        ["m2", now, now, "kraken-websocket", "kraken", "ETH-USD", 1.0],
        ["m3", now, now, "simulator", "simex", "ETH-USD", 1.0],  # no REST history to fetch
    ], column_names=common)  # fmt: skip
    clickhouse.insert("trades", [
        ["t1", now, now, "coinbase-websocket", "coinbase", "SOL-USD", 1.0, 1.0, "7"],
    ], column_names=[*common, "amount", "trade_id"])  # fmt: skip

    result = evaluate()
    assert isinstance(result, dg.SensorResult)
    (request,) = result.dynamic_partitions_requests or []
    assert isinstance(request, dg.AddDynamicPartitionsRequest)
    assert request.partitions_def_name == "instruments"
    assert sorted(request.partition_keys) == ["coinbase:SOL-USD", "kraken:ETH-USD"]

    instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    assert isinstance(evaluate(), dg.SkipReason)  # all known now


def test_daily_schedule_asks_for_yesterday_of_every_instrument() -> None:
    # a schedule's context reopens its instance from a reference: it must be a persistent one
    with dg.instance_for_test() as instance:
        check_daily_schedule(instance)


def check_daily_schedule(instance: dg.DagsterInstance) -> None:
    at = datetime(2025, 11, 11, 0, 30, tzinfo=UTC)
    empty = history_daily_schedule(dg.build_schedule_context(instance, scheduled_execution_time=at))
    assert isinstance(empty, dg.SkipReason)

    instance.add_dynamic_partitions("instruments", ["kraken:BTC-USDT", "binance:BTC-USDT"])
    requests = history_daily_schedule(
        dg.build_schedule_context(instance, scheduled_execution_time=at)
    )
    assert isinstance(requests, list)
    assert [r.partition_key for r in requests] == [
        "2025-11-10|binance:BTC-USDT",
        "2025-11-10|kraken:BTC-USDT",
    ]
    assert len({r.run_key for r in requests}) == 2
    valid = set(history_partitions.get_partition_keys(dynamic_partitions_store=instance))
    assert {r.partition_key for r in requests} <= valid


def test_definitions_register_the_backfill() -> None:
    from lucent_platform.definitions import defs

    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"clickhouse/ohlcv_history", "clickhouse/trades_history"} <= keys
    assert defs.resolve_schedule_def("history_daily_schedule").job.name == "history_backfill"
    assert defs.resolve_sensor_def("instrument_partitions_sensor") is not None
    assert "exchange_rest" in (defs.resources or {})
