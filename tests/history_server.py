"""A local exchange for the backfill tests: recorded REST answers, served as each venue pages.

Binance ``/api/v3/klines`` and ``/api/v3/aggTrades`` (recorded 2021-10-22) answer the recorded
rows whose time is within ``startTime``..``endTime`` (inclusive), at most ``limit`` of them;
klines of ADABTC come from Binance's own public dump of 2021-11-27 (every minute of the day,
the CSV holding the very fields of the API's kline arrays);
Kraken ``/0/public/OHLC`` (recorded 2025-11-10/11) answers the recorded candles after ``since``
(seconds), at most 720; ``/0/public/Trades`` answers the trade of ccxt's own recorded Kraken
test case (2024-03-13) from ``since`` on. Markets come from the recorded ``exchangeInfo`` and
``AssetPairs`` shipped under ``lucent_platform/connectors/markets``. Nothing is invented:
every row served is a recorded one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lucent_platform.connectors.exchanges import MARKETS_DIR
from tests.exchange_server import ExchangeServer, Responder, Script
from tests.market_fixtures import MARKET

KLINES = json.loads((MARKET / "binance" / "rest_klines_BTCUSDT_1m.json").read_text())
ADABTC_CSV = MARKET / "binance" / "klines_ADABTC_1m_2021-11-27.csv"
AGG_TRADES = json.loads((MARKET / "binance" / "rest_aggTrades_BTCUSDT.json").read_text())
KRAKEN_OHLC = json.loads((MARKET / "kraken" / "rest_OHLC_XBTUSDT_1m.json").read_text())
KRAKEN_CCXT_CASES = json.loads((MARKET / "kraken" / "ccxt_static_response_subset.json").read_text())
KRAKEN_TRADES_CASE = KRAKEN_CCXT_CASES["methods"]["fetchTrades"][0]
KRAKEN_MAX_CANDLES = 720


def _between(rows: list[Any], time_of: Any, query: dict[str, str], default_limit: int) -> list[Any]:
    start = int(query.get("startTime", 0))
    end = int(query.get("endTime", 2**62))
    limit = int(query.get("limit", default_limit))
    return [row for row in rows if start <= time_of(row) <= end][:limit]


def dump_klines(path: Path) -> list[list[Any]]:
    """A data.binance.vision kline CSV as the API's arrays: integer times and trade count,
    the decimal fields as the same text."""
    rows = []
    for line in path.read_text().splitlines():
        f = line.split(",")
        rows.append([int(f[0]), *f[1:6], int(f[6]), f[7], int(f[8]), *f[9:12]])
    return rows


KLINES_BY_SYMBOL = {"BTCUSDT": KLINES, "ADABTC": dump_klines(ADABTC_CSV)}


def binance_klines(query: dict[str, str]) -> list[Any]:
    return _between(KLINES_BY_SYMBOL.get(query.get("symbol", ""), []), lambda r: r[0], query, 500)


def binance_agg_trades(query: dict[str, str]) -> list[Any]:
    return _between(AGG_TRADES, lambda row: row["T"], query, 500)


def kraken_ohlc(query: dict[str, str]) -> dict[str, Any]:
    since = int(query.get("since", 0))
    result = KRAKEN_OHLC["result"]
    rows = [row for row in result["XBTUSDT"] if row[0] > since][:KRAKEN_MAX_CANDLES]
    return {"error": [], "result": {"XBTUSDT": rows, "last": result["last"]}}


def kraken_trades(query: dict[str, str]) -> dict[str, Any]:
    since = float(query.get("since", 0))
    count = int(query.get("count", 1000))
    result = KRAKEN_TRADES_CASE["httpResponse"]["result"]
    rows = [row for row in result["XBTUSDT"] if row[2] >= since][:count]
    return {"error": [], "result": {"XBTUSDT": rows, "last": result["last"]}}


def _markets(name: str) -> Any:
    return json.loads((MARKETS_DIR / name).read_text())


def routes() -> dict[str, Responder | Any]:
    return {
        "/api/v3/exchangeInfo": _markets("binance_exchangeInfo.json"),
        "/api/v3/klines": binance_klines,
        "/api/v3/aggTrades": binance_agg_trades,
        "/0/public/AssetPairs": _markets("kraken_AssetPairs.json"),
        "/0/public/OHLC": kraken_ohlc,
        "/0/public/Trades": kraken_trades,
    }


@contextmanager
def history_server() -> Iterator[ExchangeServer]:
    with ExchangeServer(Script(frames=[]), rest=routes()) as server:
        yield server


def rest_urls(server: ExchangeServer) -> dict[str, str]:
    """Each venue's public REST base URL on the local server (ccxt ``urls['api']['public']``)."""
    return {"binance": f"{server.http_url}/api/v3", "kraken": server.http_url}
