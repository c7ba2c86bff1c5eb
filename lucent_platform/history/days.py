"""A day partition as a half-open window of epoch milliseconds (UTC)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

DAY_MS = 86_400_000


@dataclass(frozen=True)
class Window:
    """``[start_ms, end_ms)``: every row stored for a partition has its time in here."""

    start_ms: int
    end_ms: int

    def __post_init__(self) -> None:
        if self.end_ms <= self.start_ms:
            raise ValueError(f"empty window [{self.start_ms}, {self.end_ms})")

    def contains(self, ms: int) -> bool:
        return self.start_ms <= ms < self.end_ms

    @property
    def start(self) -> datetime:
        return datetime.fromtimestamp(self.start_ms / 1000, UTC)

    @property
    def end(self) -> datetime:
        return datetime.fromtimestamp(self.end_ms / 1000, UTC)


def day_window(day: str | date) -> Window:
    """``day_window("2021-10-22")`` → ``Window(1634860800000, 1634947200000)``."""
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day)
        except ValueError:
            raise ValueError(f"{day!r} is not a YYYY-MM-DD day") from None
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    start_ms = int(start.timestamp()) * 1000
    return Window(start_ms, start_ms + DAY_MS)


def previous_day(now: datetime) -> date:
    """The UTC day before ``now`` (an aware datetime): what the daily schedule backfills."""
    if now.tzinfo is None:
        raise ValueError("previous_day needs an aware datetime")
    return (now.astimezone(UTC) - timedelta(days=1)).date()
