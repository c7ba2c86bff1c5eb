"""Time-based train / validation / test split with an embargo before each boundary.

The range's time span is cut by fractions: the earliest rows train, the next validate, the
latest test. A row's label looks ``embargo_ms`` ahead (the largest horizon), so a row whose
label window crosses into the next part is ``embargo``: used by neither side. Shuffled
splits would let a model learn from its own future; this one cannot.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

TRAIN, VALIDATION, TEST, EMBARGO = "train", "validation", "test", "embargo"
PARTS = (TRAIN, VALIDATION, TEST, EMBARGO)


@dataclass(frozen=True)
class Boundaries:
    """Validation starts at ``validation_ms``, test at ``test_ms`` (row times, UTC ms)."""

    validation_ms: int
    test_ms: int


def boundaries(
    first_ms: int, last_ms: int, validation_fraction: float, test_fraction: float, bar_ms: int
) -> Boundaries:
    """Cut ``[first, last]`` by fractions of its span, on bar boundaries."""
    span = last_ms - first_ms + bar_ms
    test = last_ms + bar_ms - round(span * test_fraction / bar_ms) * bar_ms
    validation = test - round(span * validation_fraction / bar_ms) * bar_ms
    return Boundaries(validation, test)


def time_split(
    times: Sequence[int],
    *,
    validation_fraction: float,
    test_fraction: float,
    embargo_ms: int,
    bar_ms: int,
) -> list[str]:
    """Each row's part, for rows at ``times`` (any order)."""
    if not times:
        return []
    cut = boundaries(min(times), max(times), validation_fraction, test_fraction, bar_ms)
    parts = []
    for t in times:
        if t >= cut.test_ms:
            parts.append(TEST)
        elif t >= cut.validation_ms:
            parts.append(VALIDATION if t + embargo_ms < cut.test_ms else EMBARGO)
        else:
            parts.append(TRAIN if t + embargo_ms < cut.validation_ms else EMBARGO)
    return parts


def sizes(parts: Sequence[str]) -> dict[str, int]:
    counts = Counter(parts)
    return {part: counts.get(part, 0) for part in PARTS}
