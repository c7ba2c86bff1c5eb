"""What each analytics table is, read from the migrations: engine, ORDER BY, and which table a
materialized view fills from which.

The migrations are the one source of the DDL, so the Dagster asset graph (external assets
``clickhouse/<table>`` with their lineage) reads it from them instead of a second list::

    facts = table_facts()
    facts["market_data"].engine     # "AggregatingMergeTree"
    facts["market_data"].order_by   # "(exchange, pair, minute)"
    facts["market_data"].sources    # ("trades",): filled by market_data_mv
    downstream_tables({"trades"})   # {"market_data", "market_data_1h", "market_data_1d"}

Pure: it parses the shipped SQL files, no server needed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lucent_platform.analytics.migrate import Migration, load_migrations

_DB = "db"
_NAME = rf"`{_DB}`\.(\w+)"
_CREATE_TABLE = re.compile(rf"CREATE TABLE IF NOT EXISTS {_NAME}", re.I)
_CREATE_VIEW = re.compile(rf"CREATE MATERIALIZED VIEW IF NOT EXISTS {_NAME}\s+TO\s+{_NAME}", re.I)
_ENGINE = re.compile(r"\bENGINE\s*=\s*(\w+(?:\([^)]*\))?)", re.I)
_ORDER_BY = re.compile(r"\bORDER BY\s+(\([^)]*\)|[\w.]+)", re.I)
_FROM = re.compile(rf"\bFROM\s+{_NAME}", re.I)


@dataclass(frozen=True)
class TableFacts:
    """One table of the analytics database as its migrations create it."""

    name: str
    engine: str
    order_by: str
    migration: str  # the label of the migration that creates it, e.g. "0002_candles"
    views: tuple[str, ...] = ()  # materialized views that write into it
    sources: tuple[str, ...] = ()  # tables those views read


def table_facts(migrations: Iterable[Migration] | None = None) -> dict[str, TableFacts]:
    """Every table the migrations create (``schema_migrations`` aside), by name."""
    tables: dict[str, TableFacts] = {}
    feeds: list[tuple[str, str, tuple[str, ...]]] = []  # (view, target, sources)
    for migration in load_migrations() if migrations is None else migrations:
        for statement in migration.statements(_DB):
            if created_view := _CREATE_VIEW.search(statement):
                sources = tuple(dict.fromkeys(_FROM.findall(statement)))
                feeds.append((created_view[1], created_view[2], sources))
            elif created_table := _CREATE_TABLE.search(statement):
                engine = _ENGINE.search(statement)
                order = _ORDER_BY.search(statement)
                tables[created_table[1]] = TableFacts(
                    created_table[1],
                    engine[1] if engine else "",
                    " ".join(order[1].split()) if order else "",
                    migration.label,
                )
    for view, target, sources in feeds:
        if target in tables:
            facts = tables[target]
            tables[target] = TableFacts(
                facts.name,
                facts.engine,
                facts.order_by,
                facts.migration,
                (*facts.views, view),
                tuple(dict.fromkeys((*facts.sources, *sources))),
            )
    return tables


def downstream_tables(roots: Iterable[str], facts: dict[str, TableFacts] | None = None) -> set[str]:
    """Tables filled, through materialized views and transitively, from ``roots``."""
    facts = table_facts() if facts is None else facts
    found: set[str] = set()
    frontier = set(roots)
    while frontier:
        fed = {name for name, f in facts.items() if frontier & set(f.sources)} - found
        found |= fed
        frontier = fed
    return found


FRESHNESS_COLUMNS = ("event_time", "minute", "hour", "day", "window_end")
"""Columns that tell how recent a table's newest row is, in order of preference: the event
time of raw rows and signals, the bucket start of candles."""


def time_column(columns: Iterable[str]) -> str | None:
    """The column a table's freshness is read from (``max(column)``), if it has one."""
    present = set(columns)
    return next((name for name in FRESHNESS_COLUMNS if name in present), None)
