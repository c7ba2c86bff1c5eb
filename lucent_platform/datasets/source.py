"""Reading a pair's inputs from the analytics tables, already reduced to what a bar needs.

A bar's row depends only on each venue's latest quote, the bar's trade sums per side and each
pool's latest rate (``features.py``), so ClickHouse sends just those: per venue and bar the
last quote (``argMax`` over a tuple, so a NULL bid stays NULL as the worker sees it), per bar
and side the trade sums, per pool and bar the last rate of the pair's base or quote asset.
A day of 1-minute bars is a few thousand rows per pair instead of every update. Tables are
read ``FINAL``, so an at-least-once duplicate counts once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lucent_platform.analytics.queries.registry import bind_time, qualify
from lucent_platform.datasets.features import QuoteTick, TradeFlow, YieldTick

if TYPE_CHECKING:
    from lucent_platform.adapters.clickhouse import Client

_RANGE = "event_time >= {start:DateTime64(3, 'UTC')} AND event_time < {end:DateTime64(3, 'UTC')}"
_BAR = "intDiv(toUnixTimestamp64Milli(event_time), {bar:Int64})"
_MS = "toUnixTimestamp64Milli(max(event_time))"


def _params(start_ms: int, end_ms: int, bar_ms: int, **more: object) -> dict[str, object]:
    return {"start": bind_time(start_ms), "end": bind_time(end_ms), "bar": bar_ms, **more}


def quotes(
    client: Client, database: str, pair: str, start_ms: int, end_ms: int, bar_ms: int
) -> list[QuoteTick]:
    """Each venue's last quote of each bar in ``[start, end)``, by event time."""
    sql = f"""SELECT exchange, {_MS} AS event_ms,
    argMax((price, bid, ask, bid_size, ask_size, depth_bid_size, depth_ask_size), event_time)
FROM {qualify(database)}prices FINAL
WHERE pair = {{pair:String}} AND {_RANGE}
GROUP BY exchange, {_BAR}
ORDER BY event_ms, exchange"""
    rows = client.query(sql, parameters=_params(start_ms, end_ms, bar_ms, pair=pair)).result_rows
    return [QuoteTick(exchange, int(ms), *last) for exchange, ms, last in rows]


def trades(
    client: Client, database: str, pair: str, start_ms: int, end_ms: int, bar_ms: int
) -> list[TradeFlow]:
    """Each bar's traded amount and count per taker side, over every venue."""
    sql = f"""SELECT {_MS} AS event_ms, sum(amount), side, count()
FROM {qualify(database)}trades FINAL
WHERE pair = {{pair:String}} AND {_RANGE}
GROUP BY {_BAR}, side
ORDER BY event_ms, side"""
    rows = client.query(sql, parameters=_params(start_ms, end_ms, bar_ms, pair=pair)).result_rows
    return [TradeFlow(int(ms), float(amount), side, int(n)) for ms, amount, side, n in rows]


def yields(
    client: Client, database: str, assets: tuple[str, ...], start_ms: int, end_ms: int, bar_ms: int
) -> list[YieldTick]:
    """Each pool's last APY of each bar, for pools of ``assets``."""
    sql = f"""SELECT concat(protocol, '/', chain, '/', pool) AS key, asset, {_MS} AS event_ms,
    argMax(apy, event_time)
FROM {qualify(database)}yields FINAL
WHERE asset IN {{assets:Array(String)}} AND {_RANGE}
GROUP BY protocol, chain, pool, asset, {_BAR}
ORDER BY event_ms, key"""
    params = _params(start_ms, end_ms, bar_ms, assets=list(assets))
    rows = client.query(sql, parameters=params).result_rows
    return [YieldTick(key, asset, int(ms), float(apy)) for key, asset, ms, apy in rows]
