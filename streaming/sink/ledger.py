"""The sink's ledger: every batch cut, written to ClickHouse before the batch is inserted.

``sink_batches`` holds (consumer group, topic, partition, first offset, last offset, first
record's timestamp) per batch. Writing it first means any batch that may have reached a table
has its bounds on record, so a restart re-forms exactly that batch and re-sends it under the
same token (``batches.py``): the server drops it, and the candles its views feed stay exact.
A cut recorded whose batch never got inserted is harmless: the replay inserts it then.

It lives beside the tables it guards (same server, same database) and is the sink's own state,
like a consumer group's offsets, so the sink creates it (``ensure``) rather than a migration.
Only rows at or after a partition's committed offset are ever read; a TTL drops old ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from lucent_platform.analytics.migrate import quote_name
from streaming.sink.batches import Batch, Cut, Partition

if TYPE_CHECKING:
    from lucent_platform.adapters.clickhouse import Client

TABLE = "sink_batches"
TTL_DAYS = 7
_COLUMNS = ["consumer_group", "topic", "partition", "first_offset", "last_offset", "first_stamp"]


def ensure(client: Client, database: str) -> None:
    """Create the ledger table if it is missing (idempotent)."""
    client.command(
        f"""CREATE TABLE IF NOT EXISTS {quote_name(database)}.{TABLE}
(
    consumer_group LowCardinality(String),
    topic          LowCardinality(String),
    partition      Int32,
    first_offset   Int64,
    last_offset    Int64,
    first_stamp    Int64,
    recorded_at    DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(recorded_at)
ORDER BY (consumer_group, topic, partition, first_offset)
TTL toDateTime(recorded_at) + toIntervalDay({TTL_DAYS})"""
    )


def record(client: Client, database: str, group: str, batches: Iterable[Batch]) -> None:
    """Write the cuts of ``batches`` (one insert for all)."""
    rows = [[group, b.topic, b.partition, b.first, b.last, b.first_stamp] for b in batches]
    if rows:
        client.insert(TABLE, rows, column_names=_COLUMNS, database=database)


def planned(
    client: Client, database: str, group: str, starts: Mapping[Partition, int | None]
) -> dict[Partition, list[Cut]]:
    """Per partition, the cuts recorded at or after its committed offset (``None``: from the
    start), in offset order and chained (each starts after the previous one ends)."""
    found: dict[Partition, list[Cut]] = {tp: [] for tp in starts}
    if not starts:
        return found
    where: list[str] = []
    parameters: dict[str, object] = {"group": group}
    for i, ((topic, partition), start) in enumerate(starts.items()):
        where.append(
            f"(topic = {{t{i}:String}} AND partition = {{p{i}:Int32}} "
            f"AND first_offset >= {{o{i}:Int64}})"
        )
        parameters |= {f"t{i}": topic, f"p{i}": partition, f"o{i}": start or 0}
    rows = client.query(
        f"SELECT topic, partition, first_offset, last_offset, first_stamp "
        f"FROM {quote_name(database)}.{TABLE} WHERE consumer_group = {{group:String}} "
        f"AND ({' OR '.join(where)}) ORDER BY topic, partition, first_offset, recorded_at",
        parameters=parameters,
    ).result_rows
    latest: dict[Partition, dict[int, Cut]] = {tp: {} for tp in starts}
    for topic, partition, first, last, stamp in rows:
        latest[(topic, partition)][int(first)] = Cut(int(first), int(last), int(stamp))
    for tp, cuts in latest.items():
        end = -1
        for first in sorted(cuts):
            if first > end:
                found[tp].append(cuts[first])
                end = cuts[first].last
    return found
