"""The event store contract, run against every adapter.

``EventStoreContract`` holds the tests; each adapter subclasses it and supplies ``store``
(an open store) and ``store_uri`` (what ``open_event_store`` takes, for other processes).
The SQLite adapter always runs; the EventStoreDB adapter runs when ``LUCENT_EVENTSTORE_URI``
points at a server. Every test uses fresh stream names, so the store may be shared.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lucent_platform.eventstore import (
    ANY,
    NO_STREAM,
    EventStore,
    EventStoreError,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
    SQLiteEventStore,
    StreamNotFound,
    WrongExpectedVersion,
    open_event_store,
)
from lucent_platform.eventstore.esdb import EventStoreDBStore
from tests.fixtures.eventstore import append_racing, new_events, stream

ESDB_URI = os.environ.get("LUCENT_EVENTSTORE_URI", "")


def marker(store: EventStore) -> int:
    """Commit position of a fresh event: read_all/subscriptions after it see only what follows."""
    return store.append_to_stream(stream("marker"), current_version=NO_STREAM, events=new_events(1))


class EventStoreContract:
    """Behaviour every EventStore adapter must show. Not collected itself (no Test prefix)."""

    @pytest.fixture
    def store(self) -> Iterator[EventStore]:
        raise NotImplementedError

    @pytest.fixture
    def store_uri(self) -> str:
        raise NotImplementedError

    def test_append_and_read_round_trip(self, store: EventStore) -> None:
        name, events = stream(), new_events(2)
        before_ms = time.time_ns() // 1_000_000
        position = store.append_to_stream(name, current_version=NO_STREAM, events=events)
        recorded = store.get_stream(name)
        assert [(r.id, r.type, r.data, r.metadata) for r in recorded] == [
            (e.id, e.type, e.data, e.metadata) for e in events
        ]
        assert {r.stream_name for r in recorded} == {name}
        assert [r.stream_position for r in recorded] == [0, 1]
        assert recorded[0].commit_position < recorded[1].commit_position == position
        assert all(before_ms - 60_000 <= r.recorded_at_ms <= before_ms + 60_000 for r in recorded)
        assert store.get_current_version(name) == 1

    def test_optimistic_concurrency(self, store: EventStore) -> None:
        name = stream("portfolio")
        first = store.append_to_stream(name, current_version=NO_STREAM, events=new_events(1))
        second = store.append_to_stream(name, current_version=0, events=new_events(2))
        third = store.append_to_stream(name, current_version=ANY, events=new_events(1))
        assert first < second < third
        assert store.get_current_version(name) == 3
        for stale in (NO_STREAM, 0, 2, 4):
            with pytest.raises(WrongExpectedVersion):
                store.append_to_stream(name, current_version=stale, events=new_events(1))
        with pytest.raises(WrongExpectedVersion):
            store.append_to_stream(stream(), current_version=0, events=new_events(1))
        assert [r.stream_position for r in store.get_stream(name)] == [0, 1, 2, 3]

    def test_missing_stream(self, store: EventStore) -> None:
        name = stream()
        with pytest.raises(StreamNotFound):
            store.get_stream(name)
        with pytest.raises(StreamNotFound):
            store.get_stream(name, backwards=True, limit=1)
        assert store.get_current_version(name) is None
        store.append_to_stream(name, current_version=ANY, events=new_events(1))
        assert store.get_stream(name, stream_position=5) == ()

    def test_backwards_and_limited_reads(self, store: EventStore) -> None:
        name = stream()
        store.append_to_stream(name, current_version=NO_STREAM, events=new_events(5))

        def positions(**kwargs: object) -> list[int]:
            return [r.stream_position for r in store.get_stream(name, **kwargs)]  # type: ignore[arg-type]

        assert positions() == [0, 1, 2, 3, 4]
        assert positions(limit=2) == [0, 1]
        assert positions(stream_position=3) == [3, 4]
        assert positions(stream_position=1, limit=2) == [1, 2]
        # past the end: nothing new yet (how a handler catches up on a stream it holds)
        assert positions(stream_position=5) == []
        assert positions(backwards=True) == [4, 3, 2, 1, 0]
        assert positions(backwards=True, limit=2) == [4, 3]
        assert positions(backwards=True, stream_position=2, limit=2) == [2, 1]

    def test_read_all_in_global_order(self, store: EventStore) -> None:
        start = marker(store)
        a, b = stream("opportunity"), stream("portfolio")
        appended = [
            (a, store.append_to_stream(a, current_version=NO_STREAM, events=new_events(1))),
            (b, store.append_to_stream(b, current_version=NO_STREAM, events=new_events(1))),
            (a, store.append_to_stream(a, current_version=0, events=new_events(1))),
        ]
        ours = [r for r in store.read_all(commit_position=start) if r.stream_name in (a, b)]
        assert [(r.stream_name, r.commit_position) for r in ours] == appended
        assert [r.stream_position for r in ours] == [0, 0, 1]
        after_first = [r.commit_position for r in store.read_all(commit_position=appended[0][1])]
        assert appended[0][1] not in after_first
        assert appended[1][1] in after_first
        assert [r.commit_position for r in store.read_all(commit_position=start, limit=2)] == [
            appended[0][1],
            appended[1][1],
        ]

    def test_subscription_catches_up_then_follows(self, store: EventStore) -> None:
        start, name = marker(store), stream()
        old, new = new_events(2, "Old"), new_events(2, "New")
        store.append_to_stream(name, current_version=NO_STREAM, events=old)
        stop, caught_up = threading.Event(), threading.Event()
        deadline = threading.Timer(10.0, stop.set)  # never hang the suite
        deadline.start()

        def append_later() -> None:
            caught_up.wait(10.0)
            store.append_to_stream(name, current_version=1, events=new)

        appender = threading.Thread(target=append_later)
        appender.start()
        received: list[RecordedEvent] = []
        subscription = store.subscribe_to_all(commit_position=start, stop=stop, poll_interval=0.01)
        for event in subscription:
            if event.stream_name == name:
                received.append(event)
            if len(received) == 2:
                caught_up.set()
            if len(received) == 4:
                stop.set()
        appender.join()
        deadline.cancel()
        assert [r.id for r in received] == [e.id for e in old + new]
        assert [r.stream_position for r in received] == [0, 1, 2, 3]

    def test_subscription_ends_when_stopped(self, store: EventStore) -> None:
        stop = threading.Event()
        threading.Timer(0.2, stop.set).start()
        started = time.monotonic()
        for _ in store.subscribe_to_all(commit_position=marker(store), stop=stop):
            pass
        # it ended because it was told to, and promptly (no timing below that: noisy machines)
        assert stop.is_set() and time.monotonic() - started < 5.0

    def test_reappending_same_event_ids_is_idempotent(self, store: EventStore) -> None:
        name, first, second = stream(), new_events(2), new_events(1)
        position = store.append_to_stream(name, current_version=NO_STREAM, events=first)
        assert store.append_to_stream(name, current_version=NO_STREAM, events=first) == position
        assert store.append_to_stream(name, current_version=ANY, events=first) == position
        later = store.append_to_stream(name, current_version=1, events=second)
        assert store.append_to_stream(name, current_version=1, events=second) == later
        assert store.append_to_stream(name, current_version=ANY, events=second) == later
        assert [r.id for r in store.get_stream(name)] == [e.id for e in first + second]

    def test_rejects_malformed_appends(self, store: EventStore) -> None:
        twice = NewEvent("T", b"{}")
        for version, events in [(NO_STREAM, []), (NO_STREAM, [twice, twice]), (-1, new_events(1))]:
            with pytest.raises(ValueError):
                store.append_to_stream(stream(), current_version=version, events=events)

    def test_concurrent_appenders_in_processes(self, store: EventStore, store_uri: str) -> None:
        """Two spawned processes and this one append at once (a barrier lines them up)."""
        workers, count = 3, 25
        start, optimistic, anywhere = marker(store), stream("portfolio"), stream("opportunity")
        context = multiprocessing.get_context("spawn")
        ready = context.Barrier(workers)
        processes = [
            context.Process(
                target=append_racing, args=(store_uri, optimistic, anywhere, worker, count, ready)
            )
            for worker in range(1, workers)
        ]
        for process in processes:
            process.start()
        append_racing(store_uri, optimistic, anywhere, 0, count, ready)
        for process in processes:
            process.join(60)
        assert [p.exitcode for p in processes] == [0] * (workers - 1)

        ordered = store.get_stream(optimistic)
        assert [r.stream_position for r in ordered] == list(range(workers * count))
        for worker in range(workers):  # every event once, each worker's in its own order
            mine = [r.data for r in ordered if r.data.startswith(f"{worker}:".encode())]
            assert mine == [f"{worker}:{i}".encode() for i in range(count)]
        batched = store.get_stream(anywhere)
        assert [r.stream_position for r in batched] == list(range(2 * workers * count))
        assert all(  # the two events of each batch are adjacent: appends are atomic
            batched[i].data[:-1] == batched[i + 1].data[:-1] for i in range(0, len(batched), 2)
        )
        everything = list(store.read_all(commit_position=start))
        positions = [r.commit_position for r in everything]
        assert positions == sorted(set(positions))
        ours = {r.id for r in everything if r.stream_name in (optimistic, anywhere)}
        assert len(ours) == 3 * workers * count


class TestSQLiteEventStore(EventStoreContract):
    """The embedded store on the session's SQLite file."""

    @pytest.fixture
    def store(self, event_store: SQLiteEventStore) -> SQLiteEventStore:
        return event_store

    @pytest.fixture
    def store_uri(self, eventstore_path: Path) -> str:
        return str(eventstore_path)

    def test_connects_lazily_in_wal_mode(self, tmp_path: Path) -> None:
        path = tmp_path / "nested" / "events.sqlite3"
        with SQLiteEventStore(path) as store:
            assert not path.exists()
            assert store.get_current_version(stream()) is None
            assert path.exists()
        with SQLiteEventStore(path) as reopened:  # the schema is created idempotently
            name = stream()
            reopened.append_to_stream(name, current_version=NO_STREAM, events=new_events(1))
            reopened.close()  # a closed store reconnects when used again
            assert reopened.get_current_version(name) == 0
            mode = reopened._connection().db.execute("PRAGMA journal_mode").fetchone()
        assert mode == ("wal",)

    def test_reappending_ids_elsewhere_is_rejected(self, store: SQLiteEventStore) -> None:
        """Stricter than EventStoreDB: a stream never records an event id twice."""
        name, events = stream(), new_events(2)
        store.append_to_stream(name, current_version=NO_STREAM, events=events)
        retries: list[tuple[ExpectedVersion, list[NewEvent]]] = [
            (1, events),  # the same batch, but not where current_version puts it
            (ANY, events[::-1]),
            (NO_STREAM, events[1:]),
            (ANY, [*events, *new_events(1)]),  # partly recorded, partly new
        ]
        for version, batch in retries:
            with pytest.raises(WrongExpectedVersion):
                store.append_to_stream(name, current_version=version, events=batch)
        assert store.get_current_version(name) == 1

    def test_threads_share_one_store(self, store: SQLiteEventStore) -> None:
        name = stream()

        def append_many() -> None:
            for _ in range(20):
                store.append_to_stream(name, current_version=ANY, events=new_events(1))

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda _: append_many(), range(4)))  # re-raises a thread's error
        assert [r.stream_position for r in store.get_stream(name)] == list(range(80))


@pytest.mark.skipif(not ESDB_URI, reason="LUCENT_EVENTSTORE_URI is not set (no EventStoreDB)")
class TestEventStoreDBStore(EventStoreContract):
    """The production adapter, against the server LUCENT_EVENTSTORE_URI names."""

    @pytest.fixture
    def store(self) -> Iterator[EventStoreDBStore]:
        with EventStoreDBStore(ESDB_URI) as store:
            yield store

    @pytest.fixture
    def store_uri(self) -> str:
        return ESDB_URI


def test_factory_chooses_adapter_without_connecting(tmp_path: Path) -> None:
    path = tmp_path / "lazy.sqlite3"
    assert isinstance(open_event_store(path), SQLiteEventStore)
    assert not path.exists()
    server = open_event_store("kurrentdb://admin:secret@127.0.0.1:1?tls=false")
    assert isinstance(server, EventStoreDBStore)
    assert server.uri == "esdb://admin:secret@127.0.0.1:1?tls=false"
    assert "secret" not in repr(server)
    assert isinstance(open_event_store("esdb+discover://cluster:2113"), EventStoreDBStore)
    with pytest.raises(ValueError):
        SQLiteEventStore(":memory:")


def test_unreachable_server_raises_event_store_error() -> None:
    with EventStoreDBStore("esdb://127.0.0.1:1?tls=false") as store, pytest.raises(EventStoreError):
        store.get_current_version(stream())
