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
    schema_version = 2

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
    # v2: the rest of the APY statistics and whether the window is still open. ``samples`` is
    # the evidence count (rates above the threshold); ``windowSamples`` every rate of the pool
    # in the window. ``phase`` ``opening``: emitted as soon as the evidence sufficed, with the
    # window's figures so far; ``final``: the window's summary once it closed.
    min_apy: float | None = None
    apy_stdev: float | None = None
    window_samples: Int64 | None = None
    phase: Literal["opening", "final"] | None = None


class PriceAlert(MessageData, frozen=True):
    """A user's price rule fired (``messageType`` ``price_alert``).

    ``direction`` ``above`` fires when ``price >= targetPrice``, ``below`` when
    ``price <= targetPrice``; ``price`` is the observed price on ``exchange`` that fired it
    (for a move, ``targetPrice`` is the price that makes the move exactly ``level`` percent;
    for a spread, ``price`` is the best bid, ``targetPrice`` the bid that makes the spread
    exactly ``level`` bps)::

        {"ruleId": "r-42", "userId": "u-7", "pair": "ETH-USDC", "exchange": "binance",
         "targetPrice": 2800.0, "direction": "above", "price": 2847.52,
         "ruleType": "above", "level": 2800.0, "value": 2847.52}
    """

    message_type = "price_alert"
    schema_version = 2

    rule_id: str
    user_id: str
    pair: str
    exchange: str
    target_price: float
    direction: Literal["above", "below"]
    price: float
    # v2: which kind of rule fired and at what level (v1 alerts, without them, were price
    # rules: ``ruleType`` = ``direction``, ``level`` = ``targetPrice``). ``level`` and ``value``
    # are in the rule's unit: the price (above/below), percent (move), bps (spread); ``value``
    # is what crossed the level. ``referencePrice``/``referenceExchange``: the price it moved
    # from within ``windowMs`` (move), the best ask across venues (spread).
    rule_type: Literal["above", "below", "move", "spread"] | None = None
    level: float | None = None
    value: float | None = None
    window_ms: Int64 | None = None
    reference_price: float | None = None
    reference_exchange: str | None = None


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
    schema_version = 2

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
    # v2 (the detector, lucent_platform.signals.apps.arbitrage): the size resting at each
    # leg's quote (the buy venue's ask, the sell venue's bid; ``size`` is the smaller), and
    # the triggering quote's receipt by its feed → detection, in ms (wall clock).
    buy_size: float | None = None
    sell_size: float | None = None
    detection_latency_ms: float | None = None


class LiquidationCascade(MessageData, frozen=True):
    """Several liquidations of one collateral asset on a protocol within a window, while that
    asset's price fell beyond a threshold (``messageType`` ``liquidation_cascade``, on
    ``market.patterns``, keyed by protocol).

    ``liquidations`` counts the protocol's liquidations seizing ``collateralAsset`` in
    ``[windowStartMs, windowEndMs)``, ``collateralAmount``/``debtValueUsd`` sum them;
    ``priceHigh`` → ``priceLow`` is the largest fall of ``pricePair`` (peak, then the lowest
    quote after it) from ``lookback`` before the window to its end, ``dropPct`` that fall in
    percent of the peak::

        {"protocol": "aave", "chain": "ethereum", "collateralAsset": "ETH",
         "windowStartMs": 1756809000000, "windowEndMs": 1756809060000, "liquidations": 4,
         "collateralAmount": 182.5, "valueUsd": 480100.0, "pricePair": "ETH-USDT",
         "priceHigh": 3000.0, "priceLow": 2790.0, "dropPct": 7.0}
    """

    message_type = "liquidation_cascade"

    protocol: str
    chain: str
    collateral_asset: str
    window_start_ms: Int64
    window_end_ms: Int64
    liquidations: Int64
    collateral_amount: float
    price_pair: str
    price_high: float
    price_low: float
    drop_pct: float
    value_usd: float | None = None
