"""``ClickHouseResource`` (key ``"clickhouse"``): a clickhouse-connect client for assets, and the
analytics queries (``lucent_platform.analytics.queries``) by name.

    rows = context.resources.clickhouse.query("ohlcv", exchange="binance", pair="ETH-USDC",
                                              interval="5m", start=datetime(...))
    frame = clickhouse.frame("top-volume")     # the same rows as a pandas DataFrame
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dagster as dg
import pandas as pd

from lucent_platform.adapters import clickhouse
from lucent_platform.analytics.queries import QUERIES
from resources.endpoints import platform_endpoints, platform_settings


class ClickHouseResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The same client code for the embedded server and a real ClickHouse cluster."""

    url: str | None = None
    """Unset: LUCENT_CLICKHOUSE_URL, or the running local stack's embedded server."""

    database: str | None = None
    """The analytics database the queries read; unset: LUCENT_CLICKHOUSE_DATABASE."""

    def client(self) -> Any:
        settings = platform_settings()
        url = self.url or settings.clickhouse_url or platform_endpoints(settings).clickhouse_url
        return clickhouse.connect(
            url,
            **clickhouse.credentials(settings),
        )

    def query(self, name: str, **params: Any) -> Sequence[Any]:
        """Run the analytics query ``name`` (``top-volume``, ``ohlcv`` …) with typed ``params``
        (datetimes or epoch ms for times); its rows, typed as ``QUERIES[name].row``."""
        try:
            query = QUERIES[name]
        except KeyError:
            raise ValueError(f"no query {name!r}; known: {', '.join(QUERIES)}") from None
        database = self.database or platform_settings().clickhouse_database
        client = self.client()
        try:
            return query.run(client, params, database=database)
        finally:
            client.close()

    def frame(self, name: str, **params: Any) -> pd.DataFrame:
        """``query(name, **params)`` as a DataFrame with the query's columns."""
        return QUERIES[name].frame(self.query(name, **params))
