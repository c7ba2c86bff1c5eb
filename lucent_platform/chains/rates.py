"""Lending rates as protocols store them → APY, as plain numbers (no chain access).

Aave (v1–v3) stores annual rates in *ray* (``1e27`` = 100 % a year) and accrues them per
second; Compound v3 (Comet) stores a *per-second* rate scaled by ``1e18``. Both compound every
second, so the yearly yield is ``(1 + r)**SECONDS_PER_YEAR - 1`` with ``r`` the per-second rate
(Aave: ``rate / 1e27 / SECONDS_PER_YEAR``; Compound v3: ``rate / 1e18``). Results are
fractions (``0.0321`` is 3.21 %); the message payloads carry percent.
"""

from __future__ import annotations

import math

SECONDS_PER_YEAR = 31_536_000
"""365 days: the year both Aave's and Compound v3's contracts use."""

RAY = 10**27
WAD = 10**18


def ray_apr_to_apy(rate_ray: int) -> float:
    """An Aave annual rate in ray (``liquidityRate``, ``variableBorrowRate``) as an APY fraction.

    ``ray_apr_to_apy(10**25)`` (1 % APR) is ``0.010050…``.
    """
    _check_rate(rate_ray)
    return _compound(rate_ray / RAY / SECONDS_PER_YEAR, rate_ray)


def per_second_to_apy(rate_wad: int) -> float:
    """A Compound v3 per-second rate (``getSupplyRate``/``getBorrowRate``, 1e18 scale) as APY."""
    _check_rate(rate_wad)
    return _compound(rate_wad / WAD, rate_wad)


def _compound(per_second: float, raw: int) -> float:
    try:
        return math.expm1(SECONDS_PER_YEAR * math.log1p(per_second))
    except OverflowError:
        # A rate no market pays (≳ 2.2 % a second): a corrupt or hostile value, not a number.
        raise ValueError(f"rate {raw} compounds beyond a float over a year") from None


def _check_rate(rate: int) -> None:
    if rate < 0:
        raise ValueError(f"a rate cannot be negative, got {rate}")
