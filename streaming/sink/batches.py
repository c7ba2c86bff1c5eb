"""Batches cut per input partition on offset boundaries, so a replay forms the same batches.

A batch is a run of consecutive records of one (topic, partition): ``first``..``last``
offsets, the rows they map to (per table), and a de-duplication token naming exactly that::

    market.trades.all:3:1000-1499@1795000000123     (topic:partition:first-last@first's timestamp)

Inserting a batch twice with its token adds nothing the second time, to the table or to the
candles its materialized views feed. That holds only if a restart re-reads the same records
into the *same* batches. A batch is cut when it holds ``max_records`` records (a function of
the offsets alone), but also when it is ``max_age_s`` old, when memory is tight, or at a
rebalance — moments a replay cannot reproduce. So every cut is written to the ledger
(``ledger.py``) before its batch is inserted, and a partition assigned again first reads the
cuts recorded at or after its committed offset: those batches are re-formed exactly
(``planned``), whatever their size or age; after them, cutting carries on as usual.

The timestamp in the token tells apart two incarnations of a topic that reuse offsets (the
local broker keeps topics in memory, the ClickHouse data dir outlives it): a recorded cut whose
first record's timestamp differs from the record now at that offset is stale and ignored.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, NamedTuple

Row = tuple[Any, ...]
Partition = tuple[str, int]


class Cut(NamedTuple):
    """A batch's bounds as the ledger records them."""

    first: int
    last: int
    first_stamp: int


@dataclass
class Batch:
    """Records ``first``..``last`` of one partition, their rows per table, ready to insert."""

    topic: str
    partition: int
    first: int
    last: int
    first_stamp: int
    rows: dict[str, list[Row]]
    records: int
    stamps: list[int]
    recorded: bool = False  # its cut is in the ledger

    @property
    def token(self) -> str:
        return f"{self.topic}:{self.partition}:{self.first}-{self.last}@{self.first_stamp}"

    @property
    def cut(self) -> Cut:
        return Cut(self.first, self.last, self.first_stamp)

    @property
    def row_count(self) -> int:
        return sum(len(rows) for rows in self.rows.values())


@dataclass
class _Open:
    first: int
    first_stamp: int
    opened_at: float
    last: int = -1
    records: int = 0
    rows: dict[str, list[Row]] = field(default_factory=dict)
    stamps: list[int] = field(default_factory=list)


class PartitionBuffer:
    """One assigned partition: its open batch, and batches cut but not yet inserted (in order).

    ``start`` is the group's committed offset (records below it are stale re-reads and are
    dropped), ``None`` when the group has none. Until ``resolve`` gives the recorded cuts, records
    are only held, never cut.
    """

    def __init__(self, topic: str, partition: int, start: int | None) -> None:
        self.topic = topic
        self.partition = partition
        self.start = start
        self.next = start
        self.resolved = False
        self.planned: deque[Cut] = deque()
        self.ready: deque[Batch] = deque()
        self.buffered = 0  # records held here: open, ready and unresolved
        self._open: _Open | None = None
        self._held: list[tuple[int, int, list[tuple[str, Row]], float]] = []

    def resolve(self, planned: list[Cut], max_records: int) -> None:
        """The cuts recorded at or after ``start``, in order; held records are cut by them."""
        self.resolved = True
        self.planned = deque(planned)
        held, self._held = self._held, []
        self.buffered -= len(held)
        for offset, stamp, rows, now in held:
            self._add(offset, stamp, rows, now, max_records)

    def add(
        self, offset: int, stamp: int, rows: list[tuple[str, Row]], now: float, max_records: int
    ) -> bool:
        """Take one record (False: a stale re-read below what was already taken)."""
        if self.next is not None and offset < self.next:
            return False
        self.next = offset + 1
        if not self.resolved:
            self._held.append((offset, stamp, rows, now))
            self.buffered += 1
            return True
        self._add(offset, stamp, rows, now, max_records)
        return True

    def _add(
        self, offset: int, stamp: int, rows: list[tuple[str, Row]], now: float, max_records: int
    ) -> None:
        planned = self.planned
        if planned:
            if self._open is not None and offset > planned[0].last:
                self._seal()  # the records up to the planned cut are all here
            if self._open is None:
                while planned and planned[0].last < offset:
                    planned.popleft()  # its records are gone (retention): nothing to repeat
                if planned and (offset != planned[0].first or stamp != planned[0].first_stamp):
                    planned.clear()  # recorded for another incarnation of the topic
        batch = self._open
        if batch is None:
            batch = self._open = _Open(offset, stamp, now)
        batch.last = offset
        batch.records += 1
        batch.stamps.append(stamp)
        for table, row in rows:
            if table in batch.rows:
                batch.rows[table].append(row)
            else:
                batch.rows[table] = [row]
        self.buffered += 1
        if planned:
            if offset >= planned[0].last:
                self._seal()
        elif batch.records >= max_records:
            self._seal()

    def cut_due(self, now: float, max_age_s: float, *, force: bool = False) -> None:
        """Cut the open batch if it is ``max_age_s`` old (or ``force``); never a planned one,
        whose remaining records are on their way."""
        batch = self._open
        if batch is None or self.planned or not self.resolved:
            return
        if force or now - batch.opened_at >= max_age_s:
            self._seal()

    def _seal(self) -> None:
        batch = self._open
        assert batch is not None
        self._open = None
        planned = self.planned
        last, recorded = batch.last, False
        if planned and planned[0].first == batch.first:
            last, recorded = planned.popleft().last, True  # the token names the recorded cut
        self.ready.append(
            Batch(
                self.topic, self.partition, batch.first, last, batch.first_stamp,
                batch.rows, batch.records, batch.stamps, recorded=recorded,
            )
        )  # fmt: skip

    def inserted(self) -> Batch:
        """The oldest ready batch is in ClickHouse: forget it."""
        batch = self.ready.popleft()
        self.buffered -= batch.records
        return batch
