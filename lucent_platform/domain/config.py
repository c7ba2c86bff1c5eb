"""``LUCENT_DOMAIN_CONFIG``: the portfolio the domain handlers size positions for and rebalance.

One JSON object (snake_case keys, every one optional), e.g.::

    LUCENT_DOMAIN_CONFIG='{"portfolio": "main", "owner": "u-42", "capital_usd": 250000,
        "risk_budget": 0.5, "max_share_per_venue": 0.2, "kelly_fraction": 0.25,
        "target_weights": {"BTC": 0.5, "ETH": 0.3, "USDT": 0.2}, "drift_threshold": 0.05}'

Shares and weights are fractions of 1 (0.2 = 20 %); APYs in percent, like the signals.
``sizing.py`` and ``rebalance.py`` say how each field is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lucent_platform.json_config import from_json


@dataclass(frozen=True)
class DomainConfig:
    portfolio: str = "main"  # the portfolio stream is portfolio-{portfolio}
    owner: str | None = None  # user notified on notify.user.{owner} of portfolio events
    capital_usd: float = 100_000.0
    risk_budget: float = 0.5  # largest share of capital all open opportunity positions take
    max_share_per_venue: float = 0.2  # per protocol (yield) or exchange (arbitrage)
    kelly_fraction: float = 0.25  # of the full Kelly share
    risk_free_apy: float = 4.0  # percent: a yield's edge is its APY above this
    yield_volatility: float = 0.10  # annual standard deviation of a yield position's value
    arbitrage_volatility_bps: float = 20.0  # per trade: price moves between the two legs
    min_notional_usd: float = 10.0  # smaller recommendations are not made
    yield_horizon_s: float = 3600.0  # a yield recommendation counts against the caps this long
    arbitrage_horizon_s: float = 60.0  # and an arbitrage one this long
    target_weights: dict[str, float] = field(
        default_factory=lambda: {"BTC": 0.4, "ETH": 0.4, "USDT": 0.2}
    )
    stablecoins: tuple[str, ...] = ("USDT", "USDC", "USD", "DAI")  # valued at 1 USD
    drift_threshold: float = 0.05  # weight points: 0.05 = 5 points away from a target
    rebalance_check_s: float = 5.0  # how often live prices are checked for drift
    price_max_age_s: float = 120.0  # older quotes do not value the portfolio
    conflict_retries: int = 50  # optimistic-concurrency retries before giving up a command

    def __post_init__(self) -> None:
        for name in ("risk_budget", "max_share_per_venue", "kelly_fraction", "drift_threshold"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must be within (0, 1], got {value}")
        positive = ("capital_usd", "yield_volatility", "arbitrage_volatility_bps")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if not self.portfolio or any(c in self.portfolio for c in " $"):
            raise ValueError(
                f"portfolio must be a non-empty name without spaces or '$': {self.portfolio!r}"
            )
        if not self.target_weights:
            raise ValueError("target_weights must name at least one asset")
        if any(w < 0 for w in self.target_weights.values()):
            raise ValueError("target_weights must not be negative")
        total = sum(self.target_weights.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"target_weights must sum to 1, they sum to {total}")
        if self.conflict_retries < 1 or self.rebalance_check_s <= 0:
            raise ValueError("conflict_retries and rebalance_check_s must be positive")

    @property
    def stable(self) -> frozenset[str]:
        return frozenset(s.upper() for s in self.stablecoins)


def domain_config(overrides: Mapping[str, Any]) -> DomainConfig:
    """A ``DomainConfig`` from JSON like ``{"capital_usd": 50000}``; raises ``ValueError``
    naming an unknown field or a bad value."""
    return from_json(DomainConfig, overrides, "domain")
