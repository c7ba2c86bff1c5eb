"""Rebalancing: when the portfolio's weights at live prices drift from the targets.

The portfolio is opened by buying ``capital_usd`` at the target weights at the prices of the
first valuation (``PortfolioOpened``). From then on, at every check::

    value_i  = units_i × price_i          weight_i = value_i / Σ value
    drift    = max_i |weight_i − target_i|                       (weight points)

and when ``drift > drift_threshold`` a ``RebalanceTriggered`` carries the trades back to the
targets at those prices (``units_i' = Σ value × target_i / price_i``, trade = ``units_i' −
units_i``) and the holdings after them, which value the portfolio from then on (the trading
engine executes the trades; its fills are not yet fed back).
"""

from __future__ import annotations

from collections.abc import Mapping

from lucent_platform.domain.config import DomainConfig
from lucent_platform.domain.events import PortfolioOpened, RebalanceTriggered


def weights(
    holdings: Mapping[str, float], prices: Mapping[str, float]
) -> tuple[float, dict[str, float]]:
    """The portfolio's value and each asset's weight in it."""
    values = {asset: units * prices[asset] for asset, units in holdings.items()}
    total = sum(values.values())
    if total <= 0:
        return 0.0, {asset: 0.0 for asset in holdings}
    return total, {asset: value / total for asset, value in values.items()}


def open_at_targets(
    config: DomainConfig, prices: Mapping[str, float], now_ms: int
) -> PortfolioOpened:
    holdings = {
        asset: config.capital_usd * target / prices[asset]
        for asset, target in config.target_weights.items()
    }
    return PortfolioOpened(
        portfolio=config.portfolio,
        capital_usd=config.capital_usd,
        holdings=holdings,
        prices=dict(prices),
        opened_at_ms=now_ms,
    )


def check_drift(
    config: DomainConfig,
    holdings: Mapping[str, float],
    prices: Mapping[str, float],
    now_ms: int,
) -> RebalanceTriggered | None:
    """The rebalance back to the targets, if the drift exceeds the threshold."""
    assets = sorted(set(holdings) | set(config.target_weights))
    held = {asset: holdings.get(asset, 0.0) for asset in assets}
    targets = {asset: config.target_weights.get(asset, 0.0) for asset in assets}
    value, current = weights(held, prices)
    if value <= 0:
        return None
    drift = max(abs(current[a] - targets[a]) for a in assets)
    if drift <= config.drift_threshold:
        return None
    after = {asset: value * targets[asset] / prices[asset] for asset in assets}
    return RebalanceTriggered(
        portfolio=config.portfolio,
        drift=drift,
        threshold=config.drift_threshold,
        value_usd=value,
        weights=current,
        targets=targets,
        prices={asset: prices[asset] for asset in assets},
        trades={asset: after[asset] - held[asset] for asset in assets},
        holdings_after=after,
        triggered_at_ms=now_ms,
    )
