"""What a training dataset holds: pairs, bar interval, label horizons, feature windows, split.

``LUCENT_DATASET_CONFIG`` (JSON) gives the defaults; the Dagster run config of the dataset
asset overrides pairs, interval and horizons per run. Intervals are written ``30s``, ``1m``,
``5m``, ``1h``; every length is counted in bars of that interval unless its name ends in
``_ms``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from lucent_platform import timeframes
from lucent_platform.json_config import from_json
from lucent_platform.timeframes import DAY_MS


def interval_ms(interval: str) -> int:
    """``"1m"`` → 60000. Raises ``ValueError`` for anything that is not a timeframe
    (``lucent_platform.timeframes``) dividing a day (so every day starts on a bar boundary)."""
    ms = timeframes.interval_ms(interval)
    if DAY_MS % ms:
        raise ValueError(f"interval {interval!r} must divide a day")
    return ms


@dataclass(frozen=True)
class DatasetConfig:
    """One dataset's definition (defaults in parentheses).

    - ``pairs`` to build (empty: ``LUCENT_PAIRS``), ``interval`` of a bar (``1m``);
    - ``horizons``: forward-return labels over these many bars (1, 5, 15);
    - ``return_lags``: past log returns over these many bars (1, 5, 15);
    - ``spans`` of the moving averages and ``volatility_window`` (log returns), in bars,
      computed by the processor's own ``PriceSeries`` (5, 20) and 20;
    - ``volume_window``: bars of volume the relative volume is measured against (20);
    - ``quote_ttl_ms``: a venue's quote older than this at a bar's end is not current
      (10 s, the processor's cross-venue TTL);
    - ``warmup_bars``: bars read before a day so its first rows have full windows (200: the
      EMAs' memory beyond that weighs < 0.01 % for span 20);
    - ``validation_fraction``/``test_fraction`` of a range's time span (0.15 each), the rest
      training, with an embargo of the largest horizon before each boundary.
    """

    pairs: tuple[str, ...] = ()
    interval: str = "1m"
    horizons: tuple[int, ...] = (1, 5, 15)
    return_lags: tuple[int, ...] = (1, 5, 15)
    spans: tuple[int, ...] = (5, 20)
    volatility_window: int = 20
    volume_window: int = 20
    quote_ttl_ms: int = 10_000
    warmup_bars: int = 200
    validation_fraction: float = 0.15
    test_fraction: float = 0.15

    def __post_init__(self) -> None:
        interval_ms(self.interval)
        for name in ("horizons", "return_lags", "spans"):
            values = getattr(self, name)
            if not values or any(v < 1 for v in values) or len(set(values)) != len(values):
                raise ValueError(f"{name} must be distinct positive bar counts, got {values}")
        if self.volatility_window < 2 or self.volume_window < 1 or self.quote_ttl_ms < 0:
            raise ValueError("volatility_window >= 2, volume_window >= 1, quote_ttl_ms >= 0")
        needed = max(*self.spans, *self.return_lags, self.volatility_window, self.volume_window)
        if self.warmup_bars < needed:
            raise ValueError(f"warmup_bars must cover the longest window ({needed} bars)")
        fractions = (self.validation_fraction, self.test_fraction)
        if any(f < 0 for f in fractions) or sum(fractions) >= 1:
            raise ValueError("validation_fraction and test_fraction must be >= 0, sum < 1")

    @property
    def interval_ms(self) -> int:
        return interval_ms(self.interval)

    @property
    def max_horizon(self) -> int:
        return max(self.horizons)

    @property
    def embargo_ms(self) -> int:
        """How far a label looks ahead: the largest horizon, in ms."""
        return self.max_horizon * self.interval_ms

    def with_pairs(self, default: list[str]) -> DatasetConfig:
        """This config with ``pairs`` filled from ``default`` (the settings) when empty."""
        return self if self.pairs else dataset_config({**self.as_json(), "pairs": default})

    def as_json(self) -> dict[str, Any]:
        """The config as JSON values (stored with a model, so the worker rebuilds it)."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def dataset_config(overrides: Mapping[str, Any]) -> DatasetConfig:
    """A ``DatasetConfig`` from JSON like ``{"interval": "5m", "horizons": [1, 3]}``;
    ``ValueError`` names an unknown field or a bad value."""
    return from_json(DatasetConfig, overrides, "dataset")
