"""``LUCENT_QUALITY_CONFIG``: the thresholds and windows of the data-quality checks.

JSON like ``{"window_minutes": 30, "max_age_s": {"prices": 60}, "severity": {"venues_agree":
"ERROR"}}``; fields not given keep their defaults, ``max_age_s`` entries replace the defaults
table by table. Read once per check run (never at import), like every stage config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from lucent_platform.json_config import from_json

Severity = Literal["WARN", "ERROR"]

CHECK_NAMES = (
    "price_positive",
    "bid_not_above_ask",
    "unique_message_ids",
    "fresh_sources",
    "ohlcv_consistent",
    "venues_agree",
    "no_candle_gaps",
    "failure_rate",
)
"""Every check's name (the same on each table it runs on): the keys of ``severity``."""

DEFAULT_MAX_AGE_S: dict[str, float] = {"prices": 120.0, "trades": 300.0, "yields": 1800.0}
"""How old each table's newest row per venue may be (s): quotes arrive several times a second
per venue, trades less often on quiet pairs, yield rates every few minutes per pool."""


@dataclass(frozen=True)
class QualityConfig:
    """Windows (minutes, hours, days), bounds (seconds, bps, a fraction) and severities."""

    window_minutes: int = 60
    """Every row-level check reads only rows whose event time is this recent."""
    sample_rows: int = 10
    """Offending rows shown in a failed check's sample table."""
    max_age_s: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MAX_AGE_S))
    freshness_lookback_hours: int = 24
    """A venue silent longer than this is only found stale if it is an expected exchange."""
    max_deviation_bps: float = 100.0
    """A venue's 1-minute mid close this far from the median across venues fails."""
    min_venues: int = 2
    """Minutes of a pair quoted by fewer venues are not compared."""
    max_failure_rate: float = 0.05
    """Dead letters / (dead letters + stored rows) per source and kind over the window."""
    history_days: int = 2
    """Backfilled candles (``ohlcv_history``) of the last days checked for gaps."""
    severity: dict[str, Severity] = field(default_factory=dict)
    """Overrides of a check's severity by check name (``CHECK_NAMES``)."""

    def __post_init__(self) -> None:
        if self.window_minutes <= 0 or self.freshness_lookback_hours <= 0:
            raise ValueError("window_minutes and freshness_lookback_hours must be positive")
        if self.history_days <= 0 or self.sample_rows <= 0 or self.min_venues < 2:
            raise ValueError("history_days and sample_rows must be positive, min_venues >= 2")
        if self.max_deviation_bps <= 0 or not 0 <= self.max_failure_rate <= 1:
            raise ValueError("max_deviation_bps must be positive, max_failure_rate in [0, 1]")
        if any(age <= 0 for age in self.max_age_s.values()):
            raise ValueError("max_age_s bounds must be positive")
        if unknown := sorted(set(self.max_age_s) - set(FRESHNESS_TABLES)):
            raise ValueError(f"max_age_s for {unknown}: freshness is checked on {FRESHNESS_TABLES}")
        if unknown := sorted(set(self.severity) - set(CHECK_NAMES)):
            raise ValueError(f"severity for unknown check(s) {unknown}: use {list(CHECK_NAMES)}")

    def severity_of(self, check: str, default: Severity) -> Severity:
        return self.severity.get(check, default)


FRESHNESS_TABLES = tuple(DEFAULT_MAX_AGE_S)
"""Tables with a freshness check: the steady streams. Not liquidations and governance (events
that may rightly be absent for hours), nor ``orderbook_top`` (snapshots only, which live venues
send on (re)subscription; deltas are not stored)."""


def quality_config(overrides: Mapping[str, Any]) -> QualityConfig:
    """A ``QualityConfig`` from ``LUCENT_QUALITY_CONFIG`` JSON; raises ``ValueError`` naming an
    unknown field or a bad value."""
    return from_json(QualityConfig, overrides, "quality", merged={"max_age_s": DEFAULT_MAX_AGE_S})
