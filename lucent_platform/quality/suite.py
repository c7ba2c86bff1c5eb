"""Every data-quality check: which table it guards, its default severity, what it reads and
which pure check it runs. The Dagster asset checks (``assets/quality.py``) are built from
this list; tests run the same entries against the embedded ClickHouse.

    scope = Scope(client, "lucent", datetime.now(UTC), quality_config({}), ("binance",))
    for check in CHECKS:
        result = check.run(scope)          # an Outcome: passed, failing, sample …
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from lucent_platform.analytics.queries.freshness import VENUE
from lucent_platform.analytics.schema import TABLES
from lucent_platform.quality import candles, reads, sources, values, venues
from lucent_platform.quality.config import FRESHNESS_TABLES, QualityConfig, Severity
from lucent_platform.quality.outcome import Outcome

if TYPE_CHECKING:
    import pandas as pd

    from lucent_platform.adapters.clickhouse import Client


@dataclass(frozen=True)
class Partition:
    """One backfill partition: an instrument's ``[start, end)`` (a UTC day)."""

    exchange: str
    pair: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Scope:
    """One run of the checks: where to read, the time it runs at, the thresholds, and the
    exchanges that must have fresh data (``LUCENT_EXCHANGES``)."""

    client: Client
    database: str
    now: datetime
    config: QualityConfig
    exchanges: tuple[str, ...] = ()
    partition: Partition | None = None
    """Set when the checks run with a backfill partition: the history checks read only it."""

    @property
    def start(self) -> datetime:
        """The start of the recent window the row checks read."""
        return reads.since(self.now, self.config.window_minutes)

    @property
    def history_start(self) -> datetime:
        return self.now - timedelta(days=self.config.history_days)

    @property
    def freshness_start(self) -> datetime:
        return self.now - timedelta(hours=self.config.freshness_lookback_hours)


@dataclass(frozen=True)
class QualityCheck:
    """One check on one table (``assets.keys.table_key(table)``)."""

    table: str
    name: str
    severity: Severity
    description: str
    window: Callable[[QualityConfig], str]
    run: Callable[[Scope], Outcome]


def _recent(config: QualityConfig) -> str:
    return f"rows with an event time in the last {config.window_minutes} min"


def _recent_candles(config: QualityConfig) -> str:
    return (
        f"candles of the last {config.window_minutes} min (an hourly or daily rollup: the "
        "bucket holding the window's start and those after it)"
    )


def _history_window(config: QualityConfig) -> str:
    return (
        f"candles opening in the last {config.history_days} days (in a backfill run: its "
        "partition's day and instrument)"
    )


def _lookback(config: QualityConfig) -> str:
    return f"newest event per venue in the last {config.freshness_lookback_hours} h"


# --- how each check reads and judges -------------------------------------------------------


def _price_positive(table: str, scope: Scope) -> Outcome:
    rows = reads.table_rows(
        scope.client, table, reads.PRICE_COLUMNS, scope.start, database=scope.database
    )
    return values.price_positive(rows, sample_rows=scope.config.sample_rows)


def _bid_not_above_ask(table: str, scope: Scope) -> Outcome:
    columns = reads.QUOTE_COLUMNS[table]
    rows = reads.table_rows(scope.client, table, columns, scope.start, database=scope.database)
    return values.bid_not_above_ask(rows, sample_rows=scope.config.sample_rows)


def _unique_ids(table: str, scope: Scope) -> Outcome:
    rows = reads.table_rows(
        scope.client, table, reads.ID_COLUMNS, scope.start, database=scope.database
    )
    return values.unique_message_ids(rows, sample_rows=scope.config.sample_rows)


def _fresh(table: str, scope: Scope) -> Outcome:
    newest = reads.newest_by_venue(
        scope.client, table, scope.freshness_start, database=scope.database
    )
    expected = scope.exchanges if VENUE[table] == "exchange" else ()
    bound = scope.config.max_age_s[table]
    return sources.fresh_sources(
        newest, now=scope.now, max_age_s=bound, expected=expected,
        sample_rows=scope.config.sample_rows,
    )  # fmt: skip


def _trade_candles(table: str, scope: Scope) -> Outcome:
    end = scope.now + timedelta(days=1)
    frame = reads.trade_candles(scope.client, table, scope.start, end, database=scope.database)
    return candles.ohlcv_consistent(frame, sample_rows=scope.config.sample_rows)


def _quote_candles(scope: Scope) -> Outcome:
    frame = reads.quote_candles(scope.client, scope.start, database=scope.database)
    return candles.ohlcv_consistent(frame, sample_rows=scope.config.sample_rows)


def _history(scope: Scope) -> pd.DataFrame:
    if (part := scope.partition) is None:
        return reads.history_candles(scope.client, scope.history_start, database=scope.database)
    return reads.history_candles(
        scope.client, part.start, part.end, database=scope.database,
        exchange=part.exchange, pair=part.pair,
    )  # fmt: skip


def _history_candles(scope: Scope) -> Outcome:
    return candles.ohlcv_consistent(_history(scope), sample_rows=scope.config.sample_rows)


def _history_gaps(scope: Scope) -> Outcome:
    part = scope.partition
    window = None if part is None else (part.start, part.end)
    sample_rows = scope.config.sample_rows
    return candles.no_candle_gaps(_history(scope), window=window, sample_rows=sample_rows)


def _venues(scope: Scope) -> Outcome:
    prices = reads.minute_prices(scope.client, scope.start, database=scope.database)
    config = scope.config
    return venues.venues_agree(
        prices, max_bps=config.max_deviation_bps, min_venues=config.min_venues,
        sample_rows=config.sample_rows,
    )  # fmt: skip


def _failure_rate(scope: Scope) -> Outcome:
    accepted = reads.accepted_by_venue(scope.client, scope.start, database=scope.database)
    dead = reads.dead_by_topic(scope.client, scope.start, database=scope.database)
    config = scope.config
    return sources.failure_rate(
        accepted, dead, max_rate=config.max_failure_rate, sample_rows=config.sample_rows
    )


# --- the catalog ----------------------------------------------------------------------------

_PRICE = "Every price > 0: the processor dead-letters non-positive prices, so one stored here "
_QUOTE = "Bid ≤ ask on every row quoting both (a locked quote passes; the best levels of books). "
_IDS = (
    "No message id on two different rows (read with FINAL: copies of one message the "
    "at-least-once sink wrote twice collapse, as every query sees them). "
)
_FRESH = (
    "Every venue's newest row is recent (max_age_s per table); a configured exchange with no "
    "row at all fails too. "
)
_OHLCV = "OHLCV consistency: low ≤ open, close ≤ high and volume ≥ 0 on every candle. "
_VENUES = (
    "Cross-exchange deviation: per pair and minute, each venue's closing mid within "
    "max_deviation_bps of the median across venues (minutes with one venue are skipped). "
)
_GAPS = (
    "No missing candle between two stored ones of an exchange, pair and interval (exchanges "
    "skip minutes without trades, so quiet pairs warn). "
)
_RATE = (
    "Validation failure rate: dead letters / (dead letters + stored rows) per source "
    "(kind and exchange/protocol of the raw topic) at most max_failure_rate. "
)


def _checks() -> tuple[QualityCheck, ...]:
    found: list[QualityCheck] = []
    for table in ("prices", "trades"):
        found.append(QualityCheck(
            table, "price_positive", "ERROR", _PRICE + "means a path around validation.",
            _recent, partial(_price_positive, table),
        ))  # fmt: skip
    for table in reads.QUOTE_COLUMNS:
        found.append(QualityCheck(
            table, "bid_not_above_ask", "ERROR", _QUOTE, _recent, partial(_bid_not_above_ask, table)
        ))  # fmt: skip
    for table in TABLES:
        found.append(QualityCheck(
            table, "unique_message_ids", "ERROR", _IDS, _recent, partial(_unique_ids, table)
        ))  # fmt: skip
    for table in FRESHNESS_TABLES:
        found.append(QualityCheck(
            table, "fresh_sources", "WARN", _FRESH, _lookback, partial(_fresh, table)
        ))  # fmt: skip
    for table in reads.TRADE_CANDLES:
        found.append(QualityCheck(
            table, "ohlcv_consistent", "ERROR", _OHLCV, _recent_candles,
            partial(_trade_candles, table),
        ))  # fmt: skip
    found += [
        QualityCheck("quote_candles", "ohlcv_consistent", "ERROR",
                     _OHLCV + "Mid-price candles: no volume.", _recent_candles, _quote_candles),
        QualityCheck("quote_candles", "venues_agree", "WARN", _VENUES, _recent_candles, _venues),
        QualityCheck("ohlcv_history", "ohlcv_consistent", "ERROR",
                     _OHLCV + "Backfilled candles.", _history_window, _history_candles),
        QualityCheck("ohlcv_history", "no_candle_gaps", "WARN",
                     _GAPS, _history_window, _history_gaps),
        QualityCheck("dead_letters", "failure_rate", "ERROR", _RATE, _recent, _failure_rate),
    ]  # fmt: skip
    return tuple(found)


CHECKS = _checks()
"""Every check, by table."""
