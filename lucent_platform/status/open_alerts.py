"""The open alerts among the newest records of the monitoring alerts topic.

The stream monitor (``lucent worker monitor``) writes each alert twice under one ``alertId``:
its opening, then its resolution (``resolvedAtMs`` set). A record is JSON, a Lucent envelope
whose ``data`` holds the alert (or the plain object); the newest record per id wins::

    {"alertId": "5c0e…", "kind": "stale_source", "severity": "warning", "source": "kraken",
     "detail": "no message for 12.0 s (expected every 0.5 s)", "openedAtMs": 1764380000000}

Records without an id are keyed by kind and source; ``status``/``state`` ``resolved`` also
closes an alert, so other publishers' alerts read the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from lucent_platform.status.snapshot import OpenAlert

RESOLVED = {"resolved", "ok", "cleared", "closed"}


def open_alerts(records: Iterable[tuple[int, bytes | None]]) -> tuple[OpenAlert, ...]:
    """From ``(timestamp_ms, value)`` records, oldest first: the alerts still open, newest
    first. Values that are not JSON objects are skipped."""
    latest: dict[str, tuple[OpenAlert, bool]] = {}
    for at_ms, value in records:
        fields = _fields(value)
        if fields is None:
            continue
        rule = _first(fields, "kind", "rule", "alert", "name", "type") or "alert"
        about = _first(fields, "source", "exchange", "protocol", "subject", "venue")
        key = f"{rule} {about}" if about else rule
        state = (_first(fields, "status", "state") or "").lower()
        resolved = state in RESOLVED or fields.get("resolvedAtMs") is not None
        alert = OpenAlert(
            at_ms=_int(fields.get("openedAtMs")) or at_ms,
            key=key,
            severity=_first(fields, "severity", "level") or "warning",
            message=_first(fields, "detail", "message", "description") or key,
        )
        latest[_first(fields, "alertId", "id") or key] = (alert, resolved)
    found = [alert for alert, resolved in latest.values() if not resolved]
    return tuple(sorted(found, key=lambda a: a.at_ms, reverse=True))


def _fields(value: bytes | None) -> Mapping[str, Any] | None:
    try:
        payload = json.loads(value or b"")
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    data = payload.get("data")
    return {**payload, **data} if isinstance(data, dict) else payload


def _first(fields: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = fields.get(name)
        if value not in (None, ""):
            return str(value)
    return None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
