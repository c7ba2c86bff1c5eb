"""Candle checks: consistent OHLCV bars, and no missing bars in backfilled history.

Candles come finalized (one row per exchange, pair and bucket: ``open``, ``high``, ``low``,
``close``, ``volume``), from the trade candles and their rollups, the quote candles, or
``ohlcv_history`` (the backfill's table: exchange, pair, interval, open_time, OHLCV).
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from lucent_platform.quality.expectations import Above, AtMost, Expectation, NotAbove, validate
from lucent_platform.quality.outcome import Outcome, outcome
from lucent_platform.timeframes import interval_ms

CANDLE_KEY = ["exchange", "pair", "interval"]


def ohlcv_consistent(candles: pd.DataFrame, *, sample_rows: int = 10) -> Outcome:
    """``low`` ≤ ``open``, ``close`` ≤ ``high`` (and so ``low`` ≤ ``high``), ``volume`` ≥ 0
    where the candles have a volume (quote candles have none)."""
    checks: list[Expectation] = [
        NotAbove("low", "open"),
        NotAbove("open", "high"),
        NotAbove("low", "close"),
        NotAbove("close", "high"),
    ]
    if "volume" in candles.columns:
        checks.append(Above("volume", 0, or_equal=True))
    return outcome(candles, validate(candles, checks), what="candles", sample_rows=sample_rows)


def candle_steps(
    candles: pd.DataFrame, window: tuple[datetime, datetime] | None = None
) -> pd.DataFrame:
    """Each candle after the first of its exchange, pair and interval, with the one before it
    and how many candles are missing between the two (0 when they are adjacent).

    Without a ``window`` only gaps *between* stored candles count (where a backfilled range
    starts or ends is not known). With the ``[start, end)`` a backfill partition covered, its
    edges count too: a step from a virtual candle just before ``start`` to the first one, and
    from the last one to ``end``."""
    columns = [*CANDLE_KEY, "previous", "open_time", "missing"]
    if candles.empty:
        return pd.DataFrame(columns=columns)
    frame = candles[CANDLE_KEY].assign(open_time=pd.to_datetime(candles["open_time"], utc=True))
    step = pd.to_timedelta(frame["interval"].map(interval_ms), unit="ms")
    if window is not None:
        start, end = (pd.Timestamp(t) for t in window)
        edges = frame.assign(step=step).groupby(CANDLE_KEY, as_index=False)["step"].first()
        before = edges.assign(open_time=start - edges["step"])
        after = edges.assign(open_time=end)
        frame = pd.concat([frame, before[frame.columns], after[frame.columns]], ignore_index=True)
    frame = frame.sort_values([*CANDLE_KEY, "open_time"], kind="stable")
    frame["previous"] = frame.groupby(CANDLE_KEY, sort=False)["open_time"].shift()
    steps = frame.dropna(subset=["previous"])
    step_ms = steps["interval"].map(interval_ms).astype("int64")
    elapsed = (steps["open_time"] - steps["previous"]) // pd.Timedelta(milliseconds=1)
    missing = (elapsed // step_ms - 1).clip(lower=0)
    return steps.assign(missing=missing.astype("int64"))[columns].reset_index(drop=True)


def no_candle_gaps(
    candles: pd.DataFrame,
    *,
    window: tuple[datetime, datetime] | None = None,
    sample_rows: int = 10,
) -> Outcome:
    """No missing candle between two stored ones of an exchange, pair and interval (and, with
    a backfill partition's ``window``, none missing at its edges; an empty partition fails).
    The sample lists the gaps: the candles either side and how many are missing between."""
    if window is not None and candles.empty:
        start, end = window
        sample = pd.DataFrame({"start": [start], "end": [end]})
        summary = f"no candle stored from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
        return Outcome(False, 0, 1, summary, sample, {"missing_candles": "all"})
    steps = candle_steps(candles, window)
    broken = validate(steps, [AtMost("missing", 0)])
    missing = int(steps["missing"].sum()) if not steps.empty else 0
    figures = {"missing_candles": missing}
    return outcome(steps, broken, what="candle steps", sample_rows=sample_rows, figures=figures)
