"""``LUCENT_MONITOR_CONFIG``: the stream monitor's thresholds, as a frozen dataclass."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lucent_platform.json_config import from_json


@dataclass(frozen=True)
class MonitorConfig:
    """Every threshold comes as an open/close pair or a count, so an alert opens once and
    resolves once (hysteresis) instead of flapping around one level.

    - Failure rate per source: dead letters / (normalized + dead letters) over the last
      ``failure_window_ms`` (receive time); opens at ``failure_rate_open`` once the window
      holds ``failure_min_messages``, resolves below ``failure_rate_close`` (again over at
      least ``failure_min_messages``: a quiet or restarted monitor has no evidence either way).
    - Freshness per source, from its periodic messages (prices, trades, books, yields; not
      liquidations, governance, bridges, swaps, which come when something happens): its
      expected interval is ``expected_interval_ms[source]`` when configured, else learned (a
      moving average of the gaps between its messages, weight ``interval_weight``; from the
      second message on); ``stale_source`` opens after a silence of ``stale_factor`` × that
      interval (at least ``stale_min_ms``) and resolves at its next message.
    - ``missing_source``: a source in ``sources`` not heard within ``missing_after_ms`` of
      the monitor's start, or a source silent for ``missing_after_ms`` (and twice its stale
      threshold); resolves at its next message. Critical; the others are warnings.
    - Price deviation per pair: each venue's latest price (not older than
      ``deviation_stale_ms``) against the median across at least ``deviation_min_venues``
      venues; opens when one deviates ``deviation_open_bps``, resolves when all are within
      ``deviation_close_bps``.
    """

    failure_window_ms: int = 60_000
    failure_min_messages: int = 20
    failure_rate_open: float = 0.2
    failure_rate_close: float = 0.1
    stale_factor: float = 10.0
    stale_min_ms: int = 5_000
    interval_weight: float = 0.1
    expected_interval_ms: dict[str, int] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    missing_after_ms: int = 120_000
    deviation_open_bps: float = 100.0
    deviation_close_bps: float = 50.0
    deviation_min_venues: int = 2
    deviation_stale_ms: int = 10_000
    evaluate_every_ms: int = 1_000

    def __post_init__(self) -> None:
        positive = ("failure_window_ms", "failure_min_messages", "stale_factor", "stale_min_ms",
                    "missing_after_ms", "deviation_open_bps", "deviation_stale_ms",
                    "evaluate_every_ms")  # fmt: skip
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"monitor config {name} must be positive")
        if not 0 < self.failure_rate_close <= self.failure_rate_open <= 1:
            raise ValueError(
                "monitor config needs 0 < failure_rate_close <= failure_rate_open <= 1"
            )
        if not 0 <= self.deviation_close_bps <= self.deviation_open_bps:
            raise ValueError("monitor config needs 0 <= deviation_close_bps <= deviation_open_bps")
        if not 0 < self.interval_weight <= 1:
            raise ValueError("monitor config interval_weight must be within (0, 1]")
        if self.deviation_min_venues < 2:
            raise ValueError("monitor config deviation_min_venues must be at least 2")
        for source, interval in self.expected_interval_ms.items():
            if interval <= 0:
                raise ValueError(f"monitor config expected_interval_ms[{source!r}] must be > 0")


def monitor_config(overrides: Mapping[str, Any]) -> MonitorConfig:
    """A ``MonitorConfig`` from JSON like ``{"stale_factor": 5, "sources": ["kraken"]}``;
    ``ValueError`` naming the field for an unknown name or a wrong value."""
    return from_json(MonitorConfig, overrides, "monitor")
