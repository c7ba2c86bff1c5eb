"""Position sizing: how much of the configured capital one opportunity gets.

Fractional Kelly, then three caps (``DomainConfig`` fields in brackets)::

    kelly_share = kelly_fraction × edge / volatility²                       (fractional Kelly)
    share       = min(kelly_share,
                      max_share_per_venue − share already open on the venue, for each venue,
                      risk_budget − share already open on all opportunities)
    notional    = share × capital_usd, at most the liquidity the opportunity offers

``edge / volatility²`` is the Kelly share of a position with expected return ``edge`` and
standard deviation ``volatility`` over one period (the continuous-time Kelly / Merton
share); a fraction of it (a quarter by default) keeps most of the growth at a fraction of
the variance, and the caps bound what model error can cost.

- **yield**: ``edge = (avgApy − risk_free_apy) / 100`` per year, ``volatility =
  yield_volatility`` per year; the venue is the protocol.
- **arbitrage**: ``edge = netProfitBps / 10⁴`` per trade, ``volatility =
  arbitrage_volatility_bps / 10⁴`` per trade (how far prices move between the two legs);
  the venues are both exchanges (each leg counts against each); the liquidity is the
  top-of-book ``size × buyPrice``.

"Open" shares are the recommendations of the portfolio whose horizon (``yield_horizon_s``,
``arbitrage_horizon_s``) has not passed. A recommendation under ``min_notional_usd`` (no
edge, or no room left) is not made. ``limited_by`` names the term that set the size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lucent_platform.domain.config import DomainConfig
from lucent_platform.domain.events import ArbitrageOpportunityDetected, YieldOpportunityDetected


@dataclass(frozen=True, slots=True)
class Opportunity:
    """What sizing needs to know of an opportunity."""

    id: str
    kind: str  # "yield" | "arbitrage"
    venues: tuple[str, ...]
    instrument: str
    edge: float
    volatility: float
    horizon_ms: int
    liquidity_usd: float | None = None


@dataclass(frozen=True, slots=True)
class Sizing:
    notional_usd: float
    share: float
    kelly_share: float
    limited_by: str  # "kelly" | "venue_cap" | "risk_budget" | "liquidity"


def yield_opportunity(config: DomainConfig, event: YieldOpportunityDetected) -> Opportunity:
    return Opportunity(
        id=event.opportunity_id,
        kind="yield",
        venues=(event.protocol,),
        instrument=event.pool,
        edge=(event.avg_apy - config.risk_free_apy) / 100.0,
        volatility=config.yield_volatility,
        horizon_ms=int(config.yield_horizon_s * 1000),
    )


def arbitrage_opportunity(config: DomainConfig, event: ArbitrageOpportunityDetected) -> Opportunity:
    return Opportunity(
        id=event.opportunity_id,
        kind="arbitrage",
        venues=(event.buy_exchange, event.sell_exchange),
        instrument=event.pair,
        edge=event.net_profit_bps / 10_000.0,
        volatility=config.arbitrage_volatility_bps / 10_000.0,
        horizon_ms=int(config.arbitrage_horizon_s * 1000),
        liquidity_usd=None if event.size is None else event.size * event.buy_price,
    )


def size_position(
    config: DomainConfig,
    opportunity: Opportunity,
    venue_shares: Mapping[str, float],
    open_share: float,
) -> Sizing | None:
    """The position for ``opportunity`` given the shares already open per venue and in
    total; ``None`` when it would be under ``min_notional_usd``."""
    kelly_share = config.kelly_fraction * max(opportunity.edge, 0.0) / opportunity.volatility**2
    candidates = [
        (kelly_share, "kelly"),
        (
            min(config.max_share_per_venue - venue_shares.get(v, 0.0) for v in opportunity.venues),
            "venue_cap",
        ),
        (config.risk_budget - open_share, "risk_budget"),
    ]
    share, limited_by = min(candidates, key=lambda c: c[0])
    share = max(share, 0.0)
    notional = share * config.capital_usd
    if opportunity.liquidity_usd is not None and notional > opportunity.liquidity_usd:
        notional, limited_by = opportunity.liquidity_usd, "liquidity"
        share = notional / config.capital_usd
    if notional < config.min_notional_usd:
        return None
    return Sizing(notional, share, kelly_share, limited_by)
