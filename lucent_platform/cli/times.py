"""Times as users type them on the command line (``lucent reprocess``, ``lucent query``)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import click

_RELATIVE = re.compile(r"^(\d+)\s*([smhd])$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


def parse_time(text: str, now_ms: int | None = None) -> int:
    """``2026-11-28T10:00:00Z``, epoch milliseconds, or an age such as ``15m``/``2h``/``1d``."""
    now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    text = text.strip()
    if match := _RELATIVE.match(text):
        return _in_range(text, now - int(match.group(1)) * _UNIT_MS[match.group(2)])
    if text.isascii() and text.isdigit():
        return _in_range(text, int(text))
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a time: use ISO-8601 (2026-11-28T10:00:00Z), epoch ms, or 15m/2h/1d"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return _in_range(text, int(moment.timestamp() * 1000))


def _in_range(text: str, epoch_ms: int) -> int:
    """A time ClickHouse and Kafka can take: 1970..9999 UTC (400 digits of epoch ms would
    overflow a client's int64 with a traceback)."""
    if not 0 <= epoch_ms <= MAX_MS:
        raise click.BadParameter(f"{text[:40]!r} is outside 1970..9999 UTC")
    return epoch_ms
