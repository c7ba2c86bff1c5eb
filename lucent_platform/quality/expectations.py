"""Expectations run by great-expectations on a pandas DataFrame: which rows break which.

Checks describe what they expect with the small specs below; ``validate`` turns them into
great-expectations (1.x) expectations, runs them as one suite on an ephemeral context with a
pandas data source holding the frame, and hands back the offending rows' positions.
great-expectations is imported on first use only (it takes seconds to import), so loading
the Dagster definitions stays fast.

    broken = validate(frame, [Above("price", 0), NotAbove("bid", "ask")])
    broken.rows                  # positions (0-based) breaking any expectation
    broken.by_expectation        # {"price > 0": 2, "bid ≤ ask": 1}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import uuid4

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Above:
    """``column > bound`` (``or_equal``: ``>=``); missing values are not judged."""

    column: str
    bound: float
    or_equal: bool = False

    @property
    def label(self) -> str:
        return f"{self.column} {'≥' if self.or_equal else '>'} {self.bound:g}"


@dataclass(frozen=True)
class AtMost:
    """``column ≤ bound``; missing values are not judged."""

    column: str
    bound: float

    @property
    def label(self) -> str:
        return f"{self.column} ≤ {self.bound:g}"


@dataclass(frozen=True)
class NotAbove:
    """``low ≤ high`` for two columns of the same row; rows missing either are not judged."""

    low: str
    high: str

    @property
    def label(self) -> str:
        return f"{self.low} ≤ {self.high}"


@dataclass(frozen=True)
class Unique:
    """No value of ``column`` twice (every copy is an offending row)."""

    column: str

    @property
    def label(self) -> str:
        return f"{self.column} unique"


Expectation = Above | AtMost | NotAbove | Unique


@dataclass(frozen=True)
class Broken:
    """What broke: offending row positions (sorted, each once) and counts per expectation."""

    rows: tuple[int, ...]
    by_expectation: dict[str, int]


def validate(frame: pd.DataFrame, expectations: Sequence[Expectation]) -> Broken:
    """Run ``expectations`` on ``frame`` with great-expectations; raises ``RuntimeError`` if
    one could not be evaluated (a missing column, a wrong type), never passes silently."""
    if frame.empty:
        return Broken((), {e.label: 0 for e in expectations})
    import great_expectations as gx

    data = frame.reset_index(drop=True)
    suite = gx.ExpectationSuite(name="lucent-quality", expectations=[_gx(e) for e in expectations])
    result = _batch(data).validate(suite, result_format={"result_format": "COMPLETE"})
    rows: set[int] = set()
    counts: dict[str, int] = {}
    for spec, outcome in zip(expectations, result.results, strict=True):
        if not outcome.success and "unexpected_index_list" not in outcome.result:
            message = _exception(outcome.exception_info)
            raise RuntimeError(f"expectation {spec.label!r} could not run: {message}")
        broken = [int(i) for i in outcome.result.get("unexpected_index_list", ())]
        counts[spec.label] = len(broken)
        rows.update(broken)
    return Broken(tuple(sorted(rows)), counts)


def _exception(info: dict[str, Any]) -> str:
    """The message of a failed evaluation: great-expectations reports it at the top level or
    per metric it could not compute."""
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    messages = {str(v.get("exception_message")) for v in info.values() if isinstance(v, dict)}
    return "; ".join(sorted(messages)) or "no result"


def _batch(frame: pd.DataFrame) -> Any:
    """A batch of ``frame`` from an in-memory context: no files, no analytics, no progress
    bars (a check run logs its own summary)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    asset = context.data_sources.add_pandas(f"lucent-{uuid4().hex}").add_dataframe_asset("rows")
    batch_definition = asset.add_batch_definition_whole_dataframe("window")
    return batch_definition.get_batch(batch_parameters={"dataframe": frame})


def _gx(spec: Expectation) -> Any:
    import great_expectations as gx

    match spec:
        case Above(column, bound, or_equal):
            return gx.expectations.ExpectColumnValuesToBeBetween(
                column=column, min_value=bound, strict_min=not or_equal
            )
        case AtMost(column, bound):
            return gx.expectations.ExpectColumnValuesToBeBetween(column=column, max_value=bound)
        case NotAbove(low, high):
            return gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=high, column_B=low, or_equal=True, ignore_row_if="either_value_is_missing"
            )
        case Unique(column):
            return gx.expectations.ExpectColumnValuesToBeUnique(column=column)
    raise TypeError(f"not an expectation: {spec!r}")
