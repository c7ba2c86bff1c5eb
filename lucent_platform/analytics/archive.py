"""Archival: a day of each raw table written to Parquet before the table's TTL drops it.

Raw rows expire ``LUCENT_CLICKHOUSE_TTL_DAYS`` after they were *stored* (``inserted_at``, see
``migrate.ttl_expression``), so a day here is a UTC day of ``inserted_at``: every row is in
exactly one day's archive, and that day's rows all expire together. A day is archived once it
is ``LUCENT_ARCHIVE_AFTER_DAYS`` old and while the TTL has not reached it; rows are read
``FINAL`` (an at-least-once duplicate is archived once) in the table's own order, and the file
is rewritten whole, so archiving a day again gives the same rows.

    DATA_DIR/archive/prices/date=2026-11-20.parquet
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from lucent_platform.analytics.migrate import quote_name

if TYPE_CHECKING:
    from lucent_platform.adapters.clickhouse import Client


class NotArchivable(ValueError):
    """The day is too young to archive, or the settings leave no day archivable."""


@dataclass(frozen=True)
class Window:
    """Whether ``day`` may be archived ``today``, and why (for the asset's metadata)."""

    age_days: int
    days_before_ttl: int | None  # None: rows are kept forever
    complete: bool  # False: the TTL may already have dropped some of the day's rows


def check_window(day: date, today: date, *, after_days: int, ttl_days: int) -> Window:
    """``NotArchivable`` unless ``day`` is at least ``after_days`` old; a day at or past its
    TTL is still archived (what is left of it) but marked incomplete."""
    if ttl_days and after_days >= ttl_days:
        raise NotArchivable(
            f"LUCENT_ARCHIVE_AFTER_DAYS ({after_days}) must be below LUCENT_CLICKHOUSE_TTL_DAYS "
            f"({ttl_days}), or rows expire before they are archived"
        )
    age = (today - day).days
    if age < after_days:
        raise NotArchivable(
            f"{day} is {age} day(s) old; days are archived once {after_days} days old"
        )
    left = ttl_days - age if ttl_days else None
    return Window(age, left, left is None or left > 0)


def archive_path(data_dir: Path, table: str, day: date) -> Path:
    return data_dir / "archive" / table / f"date={day}.parquet"


def archive_day(client: Client, database: str, table: str, day: date, path: Path) -> int:
    """Write the rows of ``table`` stored on ``day`` to ``path`` (atomically); how many."""
    order = _sorting_key(client, database, table)
    sql = (
        f"SELECT * FROM {quote_name(database)}.{quote_name(table)} FINAL "
        f"WHERE toDate(inserted_at) = {{day:Date}} ORDER BY {order}"
    )
    frame = client.query_df(sql, parameters={"day": day})
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".parquet.partial")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), partial)
    os.replace(partial, path)
    return len(frame)


def _sorting_key(client: Client, database: str, table: str) -> str:
    rows = client.query(
        "SELECT sorting_key FROM system.tables WHERE database = {db:String} AND name = {t:String}",
        parameters={"db": database, "t": table},
    ).result_rows
    if not rows or not rows[0][0]:
        raise ValueError(f"no table {database}.{table}")
    return str(rows[0][0])
