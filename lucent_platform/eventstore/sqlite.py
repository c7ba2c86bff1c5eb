"""The embedded event store: EventStoreDB's contract over one SQLite file.

Workers, Dagster runs and the CLI may all open the same file at once, so:

- the database runs in WAL mode: readers never block the writer, nor the writer readers;
- every append is one ``BEGIN IMMEDIATE`` transaction: it takes SQLite's single write lock
  before reading the stream's version, so the version check, the idempotency check and the
  inserts are atomic across processes;
- writers queue fairly on a lock file first (see :mod:`.sqlite_connection`);
- commit positions are the table's ``AUTOINCREMENT`` key, assigned inside that transaction.
  Writers are serialised, so positions become visible in increasing order and a reader that
  has seen position N will never later find a committed event below N: a catch-up
  subscription can resume from the last position it saw without missing anything;
- each thread (and each process, after a fork) gets its own connection.

The embedded store is stricter than EventStoreDB in one respect: a stream never holds the
same event id twice. Re-appending ids that a stream already holds is idempotent when it is
the same batch at the same place (see :mod:`lucent_platform.eventstore.port`); any other
overlap raises :class:`WrongExpectedVersion` instead of recording duplicates.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Final
from uuid import UUID

from lucent_platform.eventstore.port import (
    ANY,
    DEFAULT_POLL_INTERVAL,
    EventStore,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
    StreamNotFound,
    WrongExpectedVersion,
    check_append,
    check_limit,
    check_stream_name,
)
from lucent_platform.eventstore.sqlite_connection import SQLiteConnection, Synchronous, connect

_COLUMNS: Final = (
    "event_id, type, data, metadata, stream_name, stream_position, commit_position, recorded_at_ms"
)
_PAGE_SIZE: Final = 500


class SQLiteEventStore(EventStore):
    """Event store in a SQLite file, safe to share between threads and processes.

    ``synchronous="FULL"`` (default) syncs the WAL on every commit: an acknowledged append
    survives a power loss, as it would in EventStoreDB. ``"NORMAL"`` survives process crashes
    only and appends faster. ``busy_timeout`` is how long SQLite waits for a lock held by a
    process that is not queued on the writers' lock file (another tool, a checkpoint).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 10.0,
        synchronous: Synchronous = "FULL",
    ) -> None:
        if str(path) in ("", ":memory:") or str(path).startswith("file:"):
            raise ValueError(f"the event store needs a file that all users share, got {path!r}")
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be 'FULL' or 'NORMAL', got {synchronous!r}")
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.synchronous: Synchronous = synchronous
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[SQLiteConnection] = []

    def __repr__(self) -> str:
        return f"SQLiteEventStore({str(self.path)!r})"

    def _connection(self) -> SQLiteConnection:
        """This thread's connection, opened on first use (and again in a forked child)."""
        conn: SQLiteConnection | None = getattr(self._local, "conn", None)
        if conn is not None and conn.pid == os.getpid():
            return conn
        conn = self._local.conn = connect(self.path, self.busy_timeout, self.synchronous)
        with self._lock:
            self._connections.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection this object opened; call it once other threads are done."""
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            # A connection inherited through fork belongs to the parent: leave it alone.
            if conn.pid == os.getpid():
                conn.close()
        self._local = threading.local()

    def append_to_stream(
        self,
        stream_name: str,
        *,
        current_version: ExpectedVersion,
        events: Sequence[NewEvent],
    ) -> int:
        check_append(stream_name, current_version, events)
        with self._connection().write() as conn:
            retried = _retried_append(conn, stream_name, current_version, events)
            if retried is not None:
                return retried
            last = _last_position(conn, stream_name)
            if current_version != ANY and current_version != last:
                raise WrongExpectedVersion(
                    f"stream {stream_name!r} is at version {last}, expected {current_version}"
                )
            first = 0 if last is None else last + 1
            now_ms = time.time_ns() // 1_000_000
            conn.executemany(
                "INSERT INTO events (stream_name, stream_position, event_id, type, data,"
                " metadata, recorded_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (stream_name, first + i, str(e.id), e.type, e.data, e.metadata, now_ms)
                    for i, e in enumerate(events)
                ],
            )
            (position,) = conn.execute("SELECT last_insert_rowid()").fetchone()
        return int(position)

    def get_stream(
        self,
        stream_name: str,
        *,
        stream_position: int | None = None,
        limit: int | None = None,
        backwards: bool = False,
    ) -> tuple[RecordedEvent, ...]:
        check_stream_name(stream_name)
        check_limit(limit)
        conn = self._connection().db
        order, bound = ("DESC", "<=") if backwards else ("ASC", ">=")
        if stream_position is None:
            stream_position = -1 if not backwards else 2**63 - 1
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM events WHERE stream_name = ? AND stream_position {bound} ?"
            f" ORDER BY stream_position {order} LIMIT ?",
            (stream_name, stream_position, -1 if limit is None else limit),
        ).fetchall()
        if not rows and self.get_current_version(stream_name) is None:
            raise StreamNotFound(f"stream {stream_name!r} not found")
        return tuple(_recorded_event(row) for row in rows)

    def get_current_version(self, stream_name: str) -> int | None:
        check_stream_name(stream_name)
        return _last_position(self._connection().db, stream_name)

    def read_all(
        self, *, commit_position: int | None = None, limit: int | None = None
    ) -> Iterator[RecordedEvent]:
        check_limit(limit)
        page_size = _PAGE_SIZE if limit is None else min(limit, _PAGE_SIZE)
        return islice(self._events_after(commit_position or 0, page_size), limit)

    def subscribe_to_all(
        self,
        *,
        commit_position: int | None = None,
        stop: threading.Event | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> Iterator[RecordedEvent]:
        stop = stop or threading.Event()
        after = commit_position or 0
        while not stop.is_set():
            for event in self._events_after(after, _PAGE_SIZE):
                if stop.is_set():
                    return
                yield event
                after = event.commit_position
            stop.wait(poll_interval)

    def _events_after(self, after: int, page_size: int) -> Iterator[RecordedEvent]:
        """Events after ``after`` up to the current end, fetched a page per query so that no
        cursor (and no read snapshot holding back WAL checkpoints) stays open across yields."""
        while True:
            rows = (
                self._connection()
                .db.execute(
                    f"SELECT {_COLUMNS} FROM events WHERE commit_position > ?"
                    " ORDER BY commit_position LIMIT ?",
                    (after, page_size),
                )
                .fetchall()
            )
            yield from map(_recorded_event, rows)
            if len(rows) < page_size:
                return
            after = rows[-1][6]


def _last_position(conn: sqlite3.Connection, stream_name: str) -> int | None:
    (last,) = conn.execute(
        "SELECT MAX(stream_position) FROM events WHERE stream_name = ?", (stream_name,)
    ).fetchone()
    return None if last is None else int(last)


def _retried_append(
    conn: sqlite3.Connection,
    stream_name: str,
    current_version: ExpectedVersion,
    events: Sequence[NewEvent],
) -> int | None:
    """Commit position of an append that is a retry, ``None`` if no id is recorded yet.

    A retry is the same batch, recorded at consecutive positions where ``current_version``
    put it; any other overlap with recorded ids raises WrongExpectedVersion.
    """
    ids = [str(e.id) for e in events]
    rows = conn.execute(
        "SELECT event_id, stream_position, commit_position FROM events"
        " WHERE stream_name = ? AND event_id IN (SELECT value FROM json_each(?))",
        (stream_name, json.dumps(ids)),
    ).fetchall()
    if not rows:
        return None
    recorded = {event_id: (stream_pos, commit_pos) for event_id, stream_pos, commit_pos in rows}
    positions = [recorded.get(event_id, (-1, -1)) for event_id in ids]
    first = positions[0][0]
    if current_version == ANY:
        expected_first = first
    else:
        expected_first = 0 if current_version is None else int(current_version) + 1
    if (
        first < 0
        or first != expected_first
        or any(pos != first + i for i, (pos, _) in enumerate(positions))
    ):
        raise WrongExpectedVersion(
            f"stream {stream_name!r} already holds some of the event ids {ids} elsewhere;"
            " appending them again would duplicate them"
        )
    return positions[-1][1]


def _recorded_event(row: tuple[str, str, bytes, bytes, str, int, int, int]) -> RecordedEvent:
    """A row selected as ``_COLUMNS``, whose order is RecordedEvent's field order."""
    return RecordedEvent(UUID(row[0]), *row[1:])
