"""Data freshness: how recent each table's data is, per source and venue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from lucent_platform.analytics.queries.registry import Query, qualify, select
from lucent_platform.analytics.schema import TABLES

if TYPE_CHECKING:
    from lucent_platform.adapters.clickhouse import Client

VENUE = {
    "prices": "exchange",
    "trades": "exchange",
    "orderbook_top": "exchange",
    "price_alerts": "exchange",
    "yields": "protocol",
    "liquidations": "protocol",
    "governance": "protocol",
    "yield_opportunities": "protocol",
    "bridge_transfers": "l2",
    "pool_swaps": "chain",
}
"""The column that names the venue of each table's rows: an exchange or a DeFi protocol; the
L2 of a bridge transfer and the chain of an unknown pool's swap, as their raw topics
(``market.bridges.{l2}``, ``market.swaps.{chain}``) name them (the other tables have none)."""

RECENT_MINUTES = 5


@dataclass(frozen=True, slots=True)
class Freshness:
    """The newest event of one table, source and venue, and how many messages are recent."""

    table: str
    source: str
    venue: str  # exchange, or protocol for DeFi tables; '' where rows have neither
    last_event: datetime
    age_s: float  # seconds from last_event to the server's clock
    rows_5m: int  # distinct messages with an event time in the last 5 minutes


def freshness(client: Client, *, database: str | None = None) -> list[Freshness]:
    """Every raw table's newest event time per source and venue, its age in seconds, and the
    distinct messages of the last 5 minutes (duplicates counted once), by table."""
    q = qualify(database)
    parts = [
        f"""SELECT '{table}' AS `table`, toString(source) AS source,
    toString({VENUE.get(table, "''")}) AS venue,
    max(event_time) AS last_event,
    dateDiff('millisecond', max(event_time), now64(3)) / 1000 AS age_s,
    uniqExactIf(message_id, event_time >= now64(3) - toIntervalMinute({RECENT_MINUTES})) AS rows_5m
FROM {q}{table}
GROUP BY source, venue"""
        for table in TABLES
    ]
    sql = "SELECT * FROM (\n" + "\nUNION ALL\n".join(parts) + "\n) ORDER BY `table`, source, venue"
    return select(client, sql, {}, Freshness)


QUERIES = (
    Query(
        "freshness",
        "Per table, source and venue: last event time, its age, messages in the last 5 minutes.",
        (),
        Freshness,
        freshness,
        "trades",
    ),
)
