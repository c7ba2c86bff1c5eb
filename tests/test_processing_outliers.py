"""Outliers: robust z-score against the rolling median, warm-up, scale floor, level shifts."""

from __future__ import annotations

import random

from lucent_platform.processing.outliers import RollingMedian


def detector(window: int = 50, reset_after: int = 5) -> RollingMedian:
    return RollingMedian(window, threshold=8.0, min_scale_bps=50.0, reset_after=reset_after)


def btc_walk(n: int, seed: int = 1, start: float = 60_000.0) -> list[float]:
    """A BTC-like price path: about 1 bp per tick."""
    rng, price, path = random.Random(seed), start, []
    for _ in range(n):
        price *= 1.0 + rng.gauss(0.0, 1e-4)
        path.append(round(price, 2))
    return path


def test_during_warm_up_only_absurd_prices_are_outliers() -> None:
    d = detector()
    assert d.observe(60_000.0) is None and d.observe(600_000.0) is None  # two: no median yet
    d = detector()
    # From three prices on, ×10 and ÷10 are caught; 30 % moves still enter (the MAD of a
    # few prices says nothing, so the warm-up verdict is ten times wider than the floor).
    assert all(d.observe(p) is None for p in [60_000.0] * 3)
    assert d.observe(600_000.0) is not None and d.observe(6_000.0) is not None
    assert d.observe(78_000.0) is None and d.observe(42_000.0) is None
    assert len(d) == 5
    assert all(d.observe(p) is None for p in [60_000.0] * 20)
    assert d.observe(78_000.0) is not None  # warm now: the robust verdict is much tighter


def test_x10_and_div10_prices_are_outliers_and_stay_out_of_the_window() -> None:
    d = detector()
    for price in btc_walk(60):
        assert d.observe(price) is None
    before = (len(d), d.median())
    for absurd in (d.median() * 10, d.median() / 10):
        verdict = d.observe(absurd)
        assert verdict is not None and "robust z" in verdict
        assert d.observe(btc_walk(1, seed=9, start=d.median())[0]) is None  # the run is broken
    assert len(d) == before[0] and abs(d.median() / before[1] - 1) < 1e-3


def test_an_arbitrage_gap_is_not_an_outlier() -> None:
    # A venue 1.5 % out of line for a few seconds: real, and what the arbitrage app wants.
    d = detector()
    path = btc_walk(60)
    for price in path:
        d.observe(price)
    assert all(d.observe(p * 1.015) is None for p in btc_walk(8, seed=2, start=path[-1]))


def test_a_flat_window_does_not_flag_the_first_ordinary_move() -> None:
    d = detector()
    for _ in range(50):
        d.observe(1.0001)  # a stablecoin pair on a coarse grid: MAD 0
    assert d.observe(1.0003) is None
    assert d.observe(1.05) is not None  # 5 % off a peg is not ordinary


def test_the_mad_widens_the_scale_in_volatile_windows() -> None:
    d = detector()
    rng = random.Random(3)
    for _ in range(50):
        d.observe(100.0 * (1.0 + rng.gauss(0.0, 0.02)))  # 2 % per tick
    assert d.observe(108.0) is None  # 8 % is within 8 robust z here, not in a calm window
    calm = detector()
    for _ in range(50):
        calm.observe(100.0 * (1.0 + rng.gauss(0.0, 1e-4)))
    assert calm.observe(108.0) is not None


def test_a_level_shift_is_followed_after_reset_after_outliers_in_a_row() -> None:
    d = detector(reset_after=5)
    for price in btc_walk(50):
        d.observe(price)
    shifted = [p * 1.2 for p in btc_walk(10, seed=5, start=d.median())]
    verdicts = [d.observe(p) for p in shifted]
    assert [v is not None for v in verdicts] == [True] * 4 + [False] * 6
    assert abs(d.median() / shifted[-1] - 1) < 0.01


def test_an_accepted_price_breaks_a_run_of_outliers() -> None:
    d = detector(reset_after=3)
    path = btc_walk(50)
    for price in path:
        d.observe(price)
    for _ in range(10):  # isolated glitches never add up to a level shift
        assert d.observe(path[-1] * 10) is not None
        assert d.observe(path[-1] * 10) is not None
        assert d.observe(path[-1]) is None


def test_the_window_is_bounded() -> None:
    d = detector(window=20)
    for price in btc_walk(500):
        d.observe(price)
    assert len(d) == 20
