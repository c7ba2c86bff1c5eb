"""Wrapping parsed market data in envelopes: header times, deterministic ids, data quality.

- ``source`` is ``"{exchange}-websocket"``, or ``"{exchange}-rest"`` for a REST snapshot.
- ``eventTimeMs`` is the venue's own time of the event; where a frame has none (a Binance spot
  book ticker, a Coinbase snapshot, a Kraken ticker) it is our receive time and the
  ``no_event_time`` quality flag says so (latency is then 0 by construction, not measured).
- ``messageId`` is ``message_id_for(exchange, messageType, pair, *natural_key)``: a venue id
  (trade id, update ids, sequence) or a content hash where the venue gives none, so replaying a
  recording twice yields the same ids, and downstream de-duplication recognises repeats.
- Only recorded clocks are used: a historical recording is never judged by the wall clock.

Quality grades (``metadata.dataQuality`` → ``confidenceScore``):

- ``high`` → 1.0: the frame carried everything its kind carries;
- ``medium`` → 0.8: fields the message could carry are missing (e.g. a ticker without bid/ask
  sizes, a trade without id), flagged ``missing:<field>``;
- ``low`` → 0.5: the book behind the message is not trustworthy: no snapshot yet, or none
  since a problem (``no_snapshot``), the update that revealed a ``sequence_gap``,
  ``crossed_book`` or ``checksum_mismatch``; or a Binance update already contained in the
  snapshot (``in_snapshot``: real, but not to be applied on top of it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import msgspec

from lucent_platform.envelope import Envelope, message_id_for, new_envelope
from lucent_platform.messages import MessageData

CONFIDENCE = {"high": 1.0, "medium": 0.8, "low": 0.5}
_RANK = {"high": 0, "medium": 1, "low": 2}


@dataclass
class Quality:
    """A grade plus the flags that lowered it (or, like ``no_event_time``, qualify it)."""

    grade: str = "high"
    flags: list[str] = field(default_factory=list)

    def lower(self, grade: str, flag: str) -> Quality:
        """Record ``flag`` and lower the grade to ``grade`` if that is worse."""
        if _RANK[grade] > _RANK[self.grade]:
            self.grade = grade
        if flag not in self.flags:
            self.flags.append(flag)
        return self

    def missing(self, **fields: object) -> Quality:
        """``medium`` for each named field that is None."""
        for name, value in fields.items():
            if value is None:
                self.lower("medium", f"missing:{name}")
        return self

    def copy(self) -> Quality:
        return Quality(self.grade, list(self.flags))


def content_key(value: Any) -> str:
    """A short stable hash of a JSON value, for venues whose messages carry no id."""
    return hashlib.sha1(msgspec.json.encode(value, order="sorted")).hexdigest()[:20]


def wrap(
    data: MessageData,
    *,
    exchange: str,
    received_ms: int,
    event_ms: int | None,
    key: tuple[object, ...],
    quality: Quality,
    rest: bool = False,
) -> Envelope[Any]:
    """One envelope of ``data`` (which has ``exchange`` and ``pair``) with our header rules."""
    quality = quality.copy()
    if event_ms is None:
        event_ms = received_ms
        quality.flags.append("no_event_time")
    pair = getattr(data, "pair", "")
    return new_envelope(
        data,
        source=f"{exchange}-{'rest' if rest else 'websocket'}",
        event_time_ms=event_ms,
        received_time_ms=received_ms,
        message_id=message_id_for(exchange, data.message_type, pair, *key),
        confidence_score=CONFIDENCE[quality.grade],
        data_quality=quality.grade,
        quality_flags=quality.flags or None,
    )
