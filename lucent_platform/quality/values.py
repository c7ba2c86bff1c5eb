"""Row checks on the raw tables: positive prices, uncrossed quotes, one row per message id.

Each takes the rows of the window as a DataFrame (as ``reads`` gives them) and returns an
``Outcome``; the offending rows themselves are the sample.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lucent_platform.quality.expectations import Above, NotAbove, Unique, validate
from lucent_platform.quality.outcome import Outcome, outcome

if TYPE_CHECKING:
    import pandas as pd


def price_positive(rows: pd.DataFrame, *, sample_rows: int = 10) -> Outcome:
    """Every ``price`` > 0 (``prices``, ``trades``): the processor dead-letters non-positive
    prices, so one stored means a path around validation."""
    return outcome(rows, validate(rows, [Above("price", 0)]), what="rows", sample_rows=sample_rows)


def bid_not_above_ask(rows: pd.DataFrame, *, sample_rows: int = 10) -> Outcome:
    """``bid`` ≤ ``ask`` on every row quoting both (``prices``; ``orderbook_top``'s best
    levels). A locked quote (equal) passes; rows without a bid or an ask are not judged."""
    checks = [NotAbove("bid", "ask")]
    return outcome(rows, validate(rows, checks), what="rows", sample_rows=sample_rows)


def unique_message_ids(rows: pd.DataFrame, *, sample_rows: int = 10) -> Outcome:
    """No ``message_id`` on two rows. ``reads`` takes the rows with ``FINAL``, so copies of one
    message the at-least-once sink wrote twice (same sorting key) count once, as every query
    sees them; what remains is one id on different messages (other time, venue or pair), which
    no merge will ever collapse. Every copy is an offending row, sorted so copies sit together."""
    ordered = rows.sort_values("message_id", kind="stable") if not rows.empty else rows
    checks = [Unique("message_id")]
    return outcome(ordered, validate(ordered, checks), what="rows", sample_rows=sample_rows)
