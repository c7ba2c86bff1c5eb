"""Small aggregations a window's state is composed of: count, extremes, mean and variance
(Welford), first and last by event time.

Each is a mutable object with ``add``; an app's window state is usually a small dataclass
holding the few it needs (say ``Stats`` of the APY and ``Latest`` of the TVL). Results depend
only on the values and event times added, never on arrival order among equal event times
(ties go to the lower offset), so a rebuilt window equals the original.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Welford:
    """Count, mean and variance in one pass, numerically stable (Welford's algorithm)."""

    count: int = 0
    mean: float = 0.0
    _m2: float = 0.0

    def add(self, value: float) -> None:
        self.count += 1
        delta = value - self.mean
        self.mean += delta / self.count
        self._m2 += delta * (value - self.mean)

    @property
    def variance(self) -> float:
        """Sample variance (n − 1); 0.0 below two values."""
        return self._m2 / (self.count - 1) if self.count > 1 else 0.0

    @property
    def population_variance(self) -> float:
        return self._m2 / self.count if self.count else 0.0

    @property
    def stddev(self) -> float:
        return math.sqrt(self.variance)


@dataclass
class Extremes:
    """Minimum and maximum; None until a value is added."""

    min: float | None = None
    max: float | None = None

    def add(self, value: float) -> None:
        if self.min is None or value < self.min:
            self.min = value
        if self.max is None or value > self.max:
            self.max = value


@dataclass
class Stats:
    """Count, mean, variance, min and max of one value."""

    moments: Welford = field(default_factory=Welford)
    extremes: Extremes = field(default_factory=Extremes)

    def add(self, value: float) -> None:
        self.moments.add(value)
        self.extremes.add(value)

    @property
    def count(self) -> int:
        return self.moments.count

    @property
    def mean(self) -> float:
        return self.moments.mean

    @property
    def variance(self) -> float:
        return self.moments.variance

    @property
    def min(self) -> float | None:
        return self.extremes.min

    @property
    def max(self) -> float | None:
        return self.extremes.max


@dataclass
class FirstLast(Generic[T]):
    """The values with the earliest and the latest event time (ties: the earlier offset is
    first, the later offset last), whatever order they arrive in."""

    first: T | None = None
    last: T | None = None
    _first_at: tuple[int, int] | None = None
    _last_at: tuple[int, int] | None = None

    def add(self, value: T, event_ms: int, offset: int) -> None:
        at = (event_ms, offset)
        if self._first_at is None or at < self._first_at:
            self.first, self._first_at = value, at
        if self._last_at is None or at > self._last_at:
            self.last, self._last_at = value, at

    @property
    def first_ms(self) -> int | None:
        return None if self._first_at is None else self._first_at[0]

    @property
    def last_ms(self) -> int | None:
        return None if self._last_at is None else self._last_at[0]
