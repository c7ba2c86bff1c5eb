"""DeFi queries: the design record's real-time yield opportunities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from lucent_platform.analytics.queries.market import BEGINNING
from lucent_platform.analytics.queries.registry import (
    Moment,
    Param,
    Query,
    bind_time,
    qualify,
    select,
)

if TYPE_CHECKING:
    from lucent_platform.adapters.clickhouse import Client


@dataclass(frozen=True, slots=True)
class YieldPool:
    """A pool's latest yield rate (``apy`` in percent, ``tvl_usd`` in US dollars)."""

    protocol: str
    chain: str
    pool: str
    asset: str
    apy: float
    tvl_usd: float | None  # never None here: the TVL threshold needs a TVL
    updated: datetime


def yield_opportunities(
    client: Client,
    min_apy: float = 5.0,
    min_tvl: float = 1_000_000.0,
    since: Moment | None = None,
    *,
    database: str | None = None,
) -> list[YieldPool]:
    """The design record's "real-time yield opportunities": pools whose *latest* rate has
    ``apy > min_apy`` and ``tvl_usd > min_tvl``, highest APY first.

    One row per (protocol, chain, pool): its newest rate since ``since`` (default: ever),
    taken before the thresholds, so a pool whose APY just fell below them is not shown with
    an older, higher one. Duplicate rows of a message are identical, so taking one is enough.
    """
    # One row per pool in `yields_latest` (migration 0004), kept by a view on `yields`.
    sql = f"""SELECT protocol, chain, pool, asset, apy, tvl_usd, event_time AS updated
FROM {qualify(database)}yields_latest FINAL
WHERE event_time >= {{since:DateTime64(3, 'UTC')}}
    AND apy > {{min_apy:Float64}} AND tvl_usd > {{min_tvl:Float64}}
ORDER BY apy DESC, protocol, chain, pool"""
    parameters = {
        "min_apy": float(min_apy),
        "min_tvl": float(min_tvl),
        "since": bind_time(since if since is not None else BEGINNING),
    }
    return select(client, sql, parameters, YieldPool)


QUERIES = (
    Query(
        "yield-opportunities",
        "Pools whose latest yield beats the thresholds (design record: APY > 5 %, TVL > 1M).",
        (
            Param("min_apy", "float", "APY above this, in percent.", 5.0),
            Param("min_tvl", "float", "TVL above this, in USD.", 1_000_000.0),
            Param("since", "time", "Only pools with a rate since then (default: any).", None),
        ),
        YieldPool,
        yield_opportunities,
        "yields",
    ),
)
