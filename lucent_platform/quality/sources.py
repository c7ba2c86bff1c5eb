"""Per-source checks: every venue's newest row recent enough, and few dead letters.

A source is an exchange (prices, trades, books) or a DeFi protocol (yields, liquidations,
governance): the venue column of ``analytics.queries.freshness.VENUE``. Dead letters carry
their raw topic, ``market.{kind}.{venue}.{instrument}``, which names both.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime

import pandas as pd

from lucent_platform.analytics.rows import TABLE_FOR_TOPIC
from lucent_platform.quality.expectations import AtMost, NotAbove, validate
from lucent_platform.quality.outcome import Outcome, outcome
from lucent_platform.topics import Kind, normalized

KIND_OF_TABLE = {TABLE_FOR_TOPIC[normalized(kind)]: kind.value for kind in Kind}
"""``prices`` → ``prices``, ``orderbook_top`` → ``orderbook`` …: a raw table's topic kind."""

UNRATED = (Kind.ORDERBOOK.value,)
"""Kinds whose failure rate is not checked: order books, as ``orderbook_top`` stores snapshots
only, so the accepted deltas (most book messages, and most book dead letters) are not there to
divide by."""


def ages(
    newest: pd.DataFrame, *, now: datetime, max_age_s: float, expected: Iterable[str] = ()
) -> pd.DataFrame:
    """``newest`` (venue, last_event) with ``age_s`` at ``now`` and the bound; an ``expected``
    venue without a row is added with no last event and an infinite age."""
    missing = sorted(set(expected) - set(newest["venue"]))
    absent = pd.DataFrame({"venue": missing, "last_event": pd.NaT})
    frame = pd.concat([newest[["venue", "last_event"]], absent], ignore_index=True)
    last = pd.to_datetime(frame["last_event"], utc=True)
    age = (pd.Timestamp(now) - last).dt.total_seconds().fillna(math.inf)
    frame = frame.assign(last_event=last, age_s=age, max_age_s=float(max_age_s))
    return frame.sort_values(["age_s", "venue"], ascending=[False, True]).reset_index(drop=True)


def fresh_sources(
    newest: pd.DataFrame,
    *,
    now: datetime,
    max_age_s: float,
    expected: Iterable[str] = (),
    sample_rows: int = 10,
) -> Outcome:
    """Every venue's newest event no older than ``max_age_s`` at ``now``; ``expected`` venues
    (the configured exchanges) with no row at all fail too. Oldest first in the sample."""
    frame = ages(newest, now=now, max_age_s=max_age_s, expected=expected)
    broken = validate(frame, [NotAbove("age_s", "max_age_s")])
    figures = {"max_age_s": max_age_s}
    return outcome(frame, broken, what="venues", sample_rows=sample_rows, figures=figures)


def source_of_topic(topic: str) -> tuple[str, str]:
    """``market.prices.binance.btc-usdt`` → ``("prices", "binance")``; a topic outside the raw
    families → ``("unknown", topic)``."""
    parts = topic.split(".")
    if len(parts) >= 3 and parts[0] == "market" and parts[1] in {k.value for k in Kind}:
        return parts[1], parts[2]
    return "unknown", topic


def rates(accepted: pd.DataFrame, dead: pd.DataFrame) -> pd.DataFrame:
    """Failure rate per (kind, venue): ``accepted`` (table, venue, rows) stored messages and
    ``dead`` (source_topic, rows) dead letters → kind, venue, accepted, dead, rate =
    dead / (dead + accepted). Venues are compared as topic segments (lower case)."""
    stored = pd.DataFrame({
        "kind": accepted["table"].map(KIND_OF_TABLE).astype(str),
        "venue": accepted["venue"].astype(str).str.lower(),
        "rows": accepted["rows"].astype("int64"),
    })  # fmt: skip
    stored = stored.groupby(["kind", "venue"], as_index=False)["rows"].sum()
    topics = [source_of_topic(t) for t in dead["source_topic"]]
    letters = pd.DataFrame({
        "kind": pd.Series([kind for kind, _ in topics], dtype=object),
        "venue": pd.Series([venue for _, venue in topics], dtype=object),
        "rows": dead["rows"].astype("int64").to_numpy(),
    })  # fmt: skip
    letters = letters.groupby(["kind", "venue"], as_index=False)["rows"].sum()
    frame = stored.merge(letters, on=["kind", "venue"], how="outer", suffixes=("_ok", "_dead"))
    frame = frame.fillna({"rows_ok": 0, "rows_dead": 0})
    frame = frame.rename(columns={"rows_ok": "accepted", "rows_dead": "dead"})
    frame = frame[~frame["kind"].isin(UNRATED)]
    frame = frame.astype({"accepted": "int64", "dead": "int64"})
    frame = frame.assign(rate=frame["dead"] / (frame["dead"] + frame["accepted"]))
    frame = frame[["kind", "venue", "accepted", "dead", "rate"]]
    return frame.sort_values(["rate", "kind", "venue"], ascending=[False, True, True]).reset_index(
        drop=True
    )


def failure_rate(
    accepted: pd.DataFrame, dead: pd.DataFrame, *, max_rate: float, sample_rows: int = 10
) -> Outcome:
    """Every source's dead-letter rate over the window at most ``max_rate`` (a fraction);
    the worst sources first in the sample."""
    frame = rates(accepted, dead)
    broken = validate(frame, [AtMost("rate", max_rate)])
    totals: Mapping[str, float | int | str] = {
        "max_rate": max_rate,
        "accepted": int(frame["accepted"].sum()),
        "dead_letters": int(frame["dead"].sum()),
    }
    return outcome(frame, broken, what="sources", sample_rows=sample_rows, figures=totals)
