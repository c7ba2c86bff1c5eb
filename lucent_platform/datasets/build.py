"""One pair's dataset rows over a time range: ticks in, features + labels out (pure).

``build_rows`` merges the three inputs by event time (quotes before trades and yields at the
same millisecond, as the worker would see no particular order either: nothing in a bar's row
depends on the order within the bar), runs ``PairFeatures`` over them up to ``label_end_ms``,
labels every row from the closes after it, and keeps the rows in ``[start_ms, end_ms)``.

The caller reads from ``start_ms - warmup`` (so the first rows have full windows) to
``end_ms + largest horizon`` (so the last rows have labels, once that data exists).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator

import pandas as pd

from lucent_platform.datasets.config import DatasetConfig
from lucent_platform.datasets.features import (
    FeatureRow,
    PairFeatures,
    QuoteTick,
    TradeFlow,
    YieldTick,
    feature_names,
)
from lucent_platform.datasets.labels import forward_returns, label_names

Tick = QuoteTick | TradeFlow | YieldTick


def columns(config: DatasetConfig) -> list[str]:
    """Every column of a dataset, in order."""
    return [
        "time",
        "pair",
        "interval",
        "close",
        *feature_names(config),
        *label_names(config.horizons),
    ]


def feed(features: PairFeatures, ticks: Iterable[Tick]) -> Iterator[FeatureRow]:
    """Ticks into ``features`` in the given order; the rows of the bars they close."""
    for tick in ticks:
        if isinstance(tick, QuoteTick):
            yield from features.add_quote(tick)
        elif isinstance(tick, TradeFlow):
            features.add_trades(tick)
        else:
            features.add_yield(tick)


def by_time(
    quotes: Iterable[QuoteTick], trades: Iterable[TradeFlow], yields: Iterable[YieldTick]
) -> Iterator[Tick]:
    """The three inputs (each sorted by event time) merged by event time."""
    rank = {QuoteTick: 0, TradeFlow: 1, YieldTick: 2}
    return heapq.merge(quotes, trades, yields, key=lambda t: (t.event_ms, rank[type(t)]))


def build_rows(
    config: DatasetConfig,
    pair: str,
    ticks: Iterable[Tick],
    *,
    start_ms: int,
    end_ms: int,
    label_end_ms: int,
) -> pd.DataFrame:
    """The dataset's rows of ``pair`` with bar ends in ``[start_ms, end_ms)``, labelled with
    closes up to ``label_end_ms`` (columns as ``columns(config)``)."""
    features = PairFeatures(pair, config)
    rows = list(feed(features, ticks))
    rows += features.advance(label_end_ms)
    frame = pd.DataFrame(rows, columns=["time", "pair", "close", *feature_names(config)])
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in columns(config)})
    labels = forward_returns(
        frame["time"].tolist(), frame["close"].tolist(), config.horizons, config.interval_ms
    )
    frame = frame.assign(interval=config.interval, **labels)
    kept = frame[(frame["time"] >= start_ms) & (frame["time"] < end_ms)]
    return kept[columns(config)].reset_index(drop=True).astype({"time": "int64"})


def _dtype(column: str) -> str:
    return {"time": "int64", "pair": "object", "interval": "object"}.get(column, "float64")
