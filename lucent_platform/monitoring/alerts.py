"""Monitoring alerts on the wire: the envelope of one transition, its NATS subject, and the
latest state per alert id read back from ``monitoring.alerts``."""

from __future__ import annotations

from collections.abc import Iterable

from lucent_platform import subjects
from lucent_platform.envelope import EnvelopeError, decode_as, encode, message_id_for, new_envelope
from lucent_platform.messages.monitoring import MonitoringAlert

SOURCE = "lucent-monitor"


def transition_id(alert: MonitoringAlert) -> str:
    """The envelope's message id (and ``Nats-Msg-Id``): one per alert and state."""
    return message_id_for("monitoring-alert", alert.alert_id, alert.resolved_at_ms or "open")


def envelope_bytes(alert: MonitoringAlert) -> bytes:
    at = alert.resolved_at_ms if alert.resolved_at_ms is not None else alert.opened_at_ms
    return encode(
        new_envelope(
            alert,
            source=SOURCE,
            event_time_ms=at,
            received_time_ms=at,
            message_id=transition_id(alert),
        )
    )


def subject(alert: MonitoringAlert) -> str:
    """``monitoring.alerts.{kind}``."""
    return subjects.monitoring_alert(alert.kind)


def latest(values: Iterable[bytes | None]) -> dict[str, MonitoringAlert]:
    """Alert id → its latest transition, in the order read (the topic is keyed by alert id,
    so one alert's records are in order); records that are no alert are skipped."""
    out: dict[str, MonitoringAlert] = {}
    for value in values:
        if value is None:
            continue
        try:
            alert = decode_as(value, MonitoringAlert).data
        except EnvelopeError:
            continue
        out[alert.alert_id] = alert
    return out


def still_open(values: Iterable[bytes | None]) -> list[MonitoringAlert]:
    """The alerts whose latest transition is an opening, oldest first."""
    found = [a for a in latest(values).values() if a.is_open]
    return sorted(found, key=lambda a: (a.opened_at_ms, a.alert_id))
