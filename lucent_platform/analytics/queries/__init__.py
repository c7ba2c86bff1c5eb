"""The analytics queries: one typed function per query, and ``QUERIES``, their registry.

Each function takes a clickhouse-connect ``Client`` (``adapters.clickhouse.connect``), typed
parameters and ``database=`` (default: the client's), and returns frozen dataclass rows;
``pandas.DataFrame(rows)`` makes a frame of them. Every value is a bound parameter.

- ``top_volume(client, day=None, limit=20)``: the design record's top pairs by volume today;
- ``yield_opportunities(client, min_apy=5.0, min_tvl=1e6, since=None)``: latest rate per pool
  above the thresholds;
- ``ohlcv(client, exchange, pair, interval="1m", start=None, end=None, limit=None)``;
- ``vwap(client, exchange, pair, start=None, end=None)`` (``exchange=None``: all venues);
- ``spread_history(client, pair, start=None, end=None, bucket="1m", min_venues=2)``;
- ``freshness(client)``: per table, source and venue, the newest event and its age.

``QUERIES[name].run(client, params, database=...)`` runs one by its CLI name
(``top-volume``, ``ohlcv`` …) for the ``lucent query`` command and the Dagster resource.
"""

from __future__ import annotations

from lucent_platform.analytics.queries.defi import QUERIES as DEFI_QUERIES
from lucent_platform.analytics.queries.defi import YieldPool, yield_opportunities
from lucent_platform.analytics.queries.freshness import QUERIES as FRESHNESS_QUERIES
from lucent_platform.analytics.queries.freshness import Freshness, freshness
from lucent_platform.analytics.queries.market import QUERIES as MARKET_QUERIES
from lucent_platform.analytics.queries.market import (
    Candle,
    PairVolume,
    Spread,
    Vwap,
    ohlcv,
    spread_history,
    top_volume,
    vwap,
)
from lucent_platform.analytics.queries.registry import REQUIRED, Moment, Param, Query

QUERIES: dict[str, Query] = {
    query.name: query for query in (*MARKET_QUERIES, *DEFI_QUERIES, *FRESHNESS_QUERIES)
}
"""Every query by its CLI name."""

__all__ = [
    "QUERIES",
    "REQUIRED",
    "Candle",
    "Freshness",
    "Moment",
    "PairVolume",
    "Param",
    "Query",
    "Spread",
    "Vwap",
    "YieldPool",
    "freshness",
    "ohlcv",
    "spread_history",
    "top_volume",
    "vwap",
    "yield_opportunities",
]
