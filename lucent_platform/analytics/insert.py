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


def delete_retracted(client: Client, database: str, table: str, message_ids: Sequence[str]) -> None:
    """Delete the rows of ``table`` among ``message_ids`` that a chain reorg retracted.

    Retracted = recorded in ``retractions`` for this table. The sink calls it both after
    storing retractions and after storing on-chain rows, so the result does not depend on
    which of the two batches lands first; deleting again deletes nothing (idempotent).
    """
    if not message_ids:
        return
    if table not in TABLES:  # never a name from outside the catalog in SQL text
        raise ValueError(f"unknown table {table!r}")
    client.command(
        f"DELETE FROM {database}.{table} WHERE message_id IN "
        f"(SELECT message_id FROM {database}.retractions "
        "WHERE target_table = {table:String} AND message_id IN {ids:Array(String)})",
        parameters={"table": table, "ids": list(message_ids)},
    )


_TYPES = {table: [column.type for column in columns] for table, columns in TABLES.items()}
