"""The dataset card: what a data scientist checks before training on a dataset.

Plain values (``DatasetCard.as_dict``) and a Markdown table (``markdown``); the Dagster asset
puts both in its materialization's metadata.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from lucent_platform.datasets.config import DatasetConfig
from lucent_platform.datasets.features import feature_names
from lucent_platform.datasets.split import sizes, time_split


@dataclass(frozen=True)
class LabelStats:
    """One horizon's labels: how many are known, the share of up moves, return moments."""

    horizon: int
    known: int
    up_share: float
    mean_return: float
    std_return: float


@dataclass(frozen=True)
class DatasetCard:
    rows: int
    pairs: tuple[str, ...]
    interval: str
    first: str | None  # ISO time of the first row (bar end, UTC)
    last: str | None
    features: tuple[str, ...]
    feature_coverage: dict[str, float]  # share of rows where the feature is known
    labels: tuple[LabelStats, ...]
    split: dict[str, int]

    def as_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "pairs": list(self.pairs),
            "interval": self.interval,
            "first": self.first,
            "last": self.last,
            "features": list(self.features),
            "split": self.split,
        }

    def markdown(self) -> str:
        lines = [
            f"**{self.rows} rows**, {', '.join(self.pairs) or 'no pairs'}, "
            f"{self.interval} bars, {self.first} → {self.last}",
            "",
            "| horizon (bars) | labels known | up share | mean log return | std |",
            "|---|---|---|---|---|",
        ]
        for s in self.labels:
            lines.append(
                f"| {s.horizon} | {s.known} | {_fmt(s.up_share)} | {_fmt(s.mean_return)} "
                f"| {_fmt(s.std_return)} |"
            )
        lines += ["", "| split | rows |", "|---|---|"]
        lines += [f"| {part} | {n} |" for part, n in self.split.items()]
        lines += ["", "| feature | known |", "|---|---|"]
        lines += [f"| {name} | {share:.1%} |" for name, share in self.feature_coverage.items()]
        return "\n".join(lines)


def dataset_card(frame: pd.DataFrame, config: DatasetConfig) -> DatasetCard:
    """The card of ``frame`` (columns as ``build.columns(config)``), with the split the
    config's fractions and embargo give over its whole time range."""
    names = feature_names(config)
    times = frame["time"].tolist()
    parts = time_split(
        times,
        validation_fraction=config.validation_fraction,
        test_fraction=config.test_fraction,
        embargo_ms=config.embargo_ms,
        bar_ms=config.interval_ms,
    )
    n = len(frame)
    coverage = {name: float(frame[name].notna().mean()) if n else 0.0 for name in names}
    return DatasetCard(
        rows=n,
        pairs=tuple(sorted(frame["pair"].unique())),
        interval=config.interval,
        first=_iso(min(times)) if times else None,
        last=_iso(max(times)) if times else None,
        features=tuple(names),
        feature_coverage=coverage,
        labels=tuple(_label_stats(frame, h) for h in config.horizons),
        split=sizes(parts),
    )


def _label_stats(frame: pd.DataFrame, horizon: int) -> LabelStats:
    returns = frame[f"ret_fwd_{horizon}"].dropna()
    up = frame[f"up_{horizon}"].dropna()
    return LabelStats(
        horizon,
        len(returns),
        float(up.mean()) if len(up) else math.nan,
        float(returns.mean()) if len(returns) else math.nan,
        float(returns.std()) if len(returns) > 1 else math.nan,
    )


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def _fmt(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.4g}"
