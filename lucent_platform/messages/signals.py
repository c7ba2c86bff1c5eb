"""Signals our stream applications emit: yield opportunities, price alerts, arbitrage.

Windows are event-time windows, ``[windowStartMs, windowEndMs)`` in UTC epoch milliseconds,
matching the design record's Kafka Streams sketches (5-minute yield windows, 10-second
cross-exchange windows).
"""

from __future__ import annotations

from typing import Literal

from lucent_platform.messages.base import Int64, MessageData


class YieldOpportunity(MessageData, frozen=True):
    """One pool's yields above the threshold over a window (``yield_opportunity``).

    The design record's detector keeps yields with ``apy > 5.0``, aggregates them per pool over
    5-minute windows and emits the viable ones; ``samples`` is how many ``yield_rate`` messages
    the window held, ``tvlUsd`` the latest one known. For example::

        {"protocol": "aave-v2", "pool": "usdc-lending", "asset": "USDC", "chain": "ethereum",
         "windowStartMs": 1756809000000, "windowEndMs": 1756809300000,
         "maxApy": 8.5, "avgApy": 7.9, "samples": 12, "tvlUsd": 1250000000.0}
    """

    message_type = "yield_opportunity"

    protocol: str
    pool: str
    asset: str
    chain: str
    window_start_ms: Int64
    window_end_ms: Int64
    max_apy: float
    avg_apy: float
    samples: Int64
    tvl_usd: float | None = None


class PriceAlert(MessageData, frozen=True):
    """A user's price rule fired (``messageType`` ``price_alert``).

    ``direction`` ``above`` fires when ``price >= targetPrice``, ``below`` when
    ``price <= targetPrice``; ``price`` is the observed price on ``exchange`` that fired it::

        {"ruleId": "r-42", "userId": "u-7", "pair": "ETH-USDC", "exchange": "binance",
         "targetPrice": 2800.0, "direction": "above", "price": 2847.52}
    """

    message_type = "price_alert"

    rule_id: str
    user_id: str
    pair: str
    exchange: str
    target_price: float
    direction: Literal["above", "below"]
    price: float


class ArbitrageOpportunity(MessageData, frozen=True):
    """Buy on one venue, sell on another, within one window (``arbitrage_opportunity``).

    ``spreadBps`` is the gross edge ``(sellPrice - buyPrice) / buyPrice`` in basis points,
    ``feesBps`` the taker fees of both legs, ``netProfitBps = spreadBps - feesBps``. ``size`` is
    the base amount both top-of-book quotes allow, ``estimatedProfit`` the quote-currency profit
    after fees for that size (both ``None`` without book sizes)::

        {"pair": "ETH-USDC", "buyExchange": "kraken", "sellExchange": "binance",
         "buyPrice": 2840.1, "sellPrice": 2847.4, "spreadBps": 25.7, "feesBps": 20.0,
         "netProfitBps": 5.7, "windowStartMs": 1756809000000, "windowEndMs": 1756809010000,
         "size": 3.2, "estimatedProfit": 5.16}
    """

    message_type = "arbitrage_opportunity"

    pair: str
    buy_exchange: str
    sell_exchange: str
    buy_price: float
    sell_price: float
    spread_bps: float
    fees_bps: float
    net_profit_bps: float
    window_start_ms: Int64
    window_end_ms: Int64
    size: float | None = None
    estimated_profit: float | None = None
