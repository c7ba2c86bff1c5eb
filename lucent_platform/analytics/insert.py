"""Writing rows: one call per table and batch, with the insert de-duplication token.

The token makes a retried insert idempotent: the server remembers the last 1000 blocks'
tokens per table (``non_replicated_deduplication_window``), so a batch re-sent with the same
token after a timeout or a crash adds nothing, neither to the table nor to the candles its
materialized views feed. Derive it from what the batch *is*, e.g. the Kafka offsets it covers
(``"market.trades.all:3:1000-1499"``), never from time or a counter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lucent_platform.analytics.schema import COLUMNS, TABLES

if TYPE_CHECKING:
    from lucent_platform.adapters.clickhouse import Client


def insert_rows(
    client: Client,
    database: str,
    table: str,
    rows: Sequence[Sequence[Any]],
    *,
    token: str | None = None,
) -> None:
    """Insert ``rows`` (``rows.to_row`` tuples) into ``database.table`` in one block.

    (The server's written-rows count includes what the materialized views wrote, so it is
    not returned: it is not the number of rows of ``table``.)
    """
    if not rows:
        return
    settings = {"insert_deduplication_token": token} if token else None
    client.insert(
        table,
        rows,
        column_names=list(COLUMNS[table]),
        column_type_names=_TYPES[table],  # known: saves clickhouse-connect a DESCRIBE per insert
        database=database,
        settings=settings,
    )


_TYPES = {table: [column.type for column in columns] for table, columns in TABLES.items()}
