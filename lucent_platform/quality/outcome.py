"""A check's outcome: passed or not, how many rows broke it, and a sample of them.

Pure values a Dagster asset check turns into its result (count, sample as a markdown table,
severity); they are also what the tests assert on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lucent_platform.quality.expectations import Broken

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Outcome:
    """``failing`` of ``checked`` rows (or groups: venues, sources, minutes) broke the check;
    ``sample`` holds up to the configured number of them; ``figures`` the counts per
    expectation and any threshold, for the check's metadata."""

    passed: bool
    checked: int
    failing: int
    summary: str
    sample: pd.DataFrame
    figures: Mapping[str, float | int | str] = field(default_factory=dict)

    def sample_markdown(self) -> str:
        return markdown_table(self.sample)


def outcome(
    frame: pd.DataFrame,
    broken: Broken,
    *,
    what: str,
    sample_rows: int,
    figures: Mapping[str, float | int | str] | None = None,
) -> Outcome:
    """The outcome of ``broken`` on ``frame`` (``what`` names its rows: "rows", "venues" …)."""
    failing = len(broken.rows)
    sample = frame.reset_index(drop=True).iloc[list(broken.rows[:sample_rows])]
    if failing:
        summary = f"{failing} of {len(frame)} {what} break {', '.join(_broken(broken))}"
    else:
        summary = f"all {len(frame)} {what} pass" if len(frame) else f"no {what} in the window"
    return Outcome(
        passed=failing == 0,
        checked=len(frame),
        failing=failing,
        summary=summary,
        sample=sample,
        figures={**broken.by_expectation, **(figures or {})},
    )


def _broken(broken: Broken) -> list[str]:
    return [label for label, count in broken.by_expectation.items() if count]


def markdown_table(frame: pd.DataFrame) -> str:
    """``frame`` as a GitHub-style markdown table (what the Dagster UI renders)."""
    columns = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(value) for value in row) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        text = "∞" if math.isinf(value) else f"{value:.10g}"
    elif isinstance(value, datetime):
        text = value.isoformat(sep=" ", timespec="milliseconds")
    else:
        text = str(value)
    if text == "NaT":
        return ""
    return text.replace("|", "\\|").replace("\n", " ")
