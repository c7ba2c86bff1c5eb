"""Data-quality alerts of the stream monitor (``lucent worker monitor``, issue #10)."""

from __future__ import annotations

from typing import Literal

from lucent_platform.messages.base import Int64, MessageData

AlertKind = Literal["stale_source", "failure_rate", "price_deviation", "missing_source"]
Severity = Literal["warning", "critical"]


class MonitoringAlert(MessageData, frozen=True):
    """A data-quality condition opened or resolved (``messageType`` ``monitoring_alert``).

    One alert is two records with the same ``alertId``: the opening (``resolvedAtMs`` absent)
    and the resolution; ``source`` is the venue or protocol (the topic segment) for
    ``stale_source``/``missing_source``/``failure_rate`` and the pair for
    ``price_deviation``. ``figures`` are the numbers that decided it (rate, silence,
    expected interval, deviation in bps, …)::

        {"alertId": "5c0e…", "kind": "stale_source", "severity": "warning",
         "source": "kraken", "detail": "no message for 12.0 s (expected every 0.5 s)",
         "openedAtMs": 1764380000000, "figures": {"silenceMs": 12000.0,
         "thresholdMs": 5000.0, "expectedIntervalMs": 500.0}}
    """

    message_type = "monitoring_alert"

    alert_id: str
    kind: AlertKind
    severity: Severity
    source: str
    detail: str
    opened_at_ms: Int64
    resolved_at_ms: Int64 | None = None
    figures: dict[str, float] | None = None

    @property
    def is_open(self) -> bool:
        return self.resolved_at_ms is None
