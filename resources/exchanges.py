"""``ExchangeRestResource`` (key ``"exchange_rest"``): exchanges' REST history through ccxt.

    source = exchange_rest.history("binance")
    fetched = source.candles(instrument, day_window("2025-11-10"))   # paged, rate-limited

Where requests go: this resource's ``rest_urls`` first, else ``LUCENT_EXCHANGE_URLS``' ``rest``
entry for the venue, else the venue's own public API.
"""

from __future__ import annotations

import dagster as dg

from lucent_platform.connectors.rest import DEFAULT_TIMEOUT_MS, RestHistory
from resources.endpoints import platform_settings


class ExchangeRestResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """ccxt's REST clients with its rate limiter on, one per venue and asset run."""

    rest_urls: dict[str, str] = {}
    """Venue → public REST base URL (e.g. a local server replaying recorded responses)."""

    rate_limit_ms: int | None = None
    """Milliseconds between requests of cost 1; unset: ccxt's figure for the venue."""

    page_limit: int | None = None
    """Rows asked for per request, capped at the venue's maximum; unset: that maximum."""

    timeout_ms: int = DEFAULT_TIMEOUT_MS
    """A request unanswered this long fails the run (offline: no hang)."""

    def history(self, exchange: str) -> RestHistory:
        url = self.rest_urls.get(exchange)
        if url is None:
            url = platform_settings().exchange_urls.get(exchange, {}).get("rest")
        return RestHistory(
            exchange,
            rest_url=url,
            rate_limit_ms=self.rate_limit_ms,
            page_limit=self.page_limit,
            timeout_ms=self.timeout_ms,
        )
