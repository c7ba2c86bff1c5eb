"""The production event store: EventStoreDB / KurrentDB through ``esdbclient``.

A thin mapping of :class:`~lucent_platform.eventstore.port.EventStore` onto
``esdbclient.EventStoreDBClient`` (1.1):

- ``current_version``: ``None`` ↔ ``StreamState.NO_STREAM``, ``"any"`` ↔ ``StreamState.ANY``,
  ``int`` ↔ ``int``; ``WrongCurrentVersion`` → :class:`WrongExpectedVersion`;
  ``NotFound``/``StreamIsDeleted`` on reads → :class:`StreamNotFound`; any other client error
  → :class:`EventStoreError`.
- ``read_all(commit_position=p)`` in esdbclient *includes* the event at ``p`` when reading
  forwards; the port promises the events after ``p``, so that event is skipped here.
  ``subscribe_to_all(commit_position=p)`` already starts after ``p``.
- System events (``$``-types) are left out of ``read_all`` and subscriptions (esdbclient's
  default filter), so both adapters deliver only application events.
- Events are sent with esdbclient's default content type, ``application/json``: our domain
  events are JSON, which keeps them readable in the server's UI and projections.
- ``kurrentdb://`` and ``kurrentdb+discover://`` URIs are accepted and passed on as
  ``esdb://`` and ``esdb+discover://`` (esdbclient 1.1 knows only those schemes).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Final, NoReturn

import esdbclient
from esdbclient import EventStoreDBClient, StreamState
from esdbclient.exceptions import (
    EventStoreDBClientException,
    NotFound,
    StreamIsDeleted,
    WrongCurrentVersion,
)

from lucent_platform.eventstore.port import (
    ANY,
    DEFAULT_POLL_INTERVAL,
    EventStore,
    EventStoreError,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
    StreamNotFound,
    WrongExpectedVersion,
    check_append,
    check_limit,
    check_stream_name,
)
from lucent_platform.redaction import redact_urls

_SCHEMES: Final = {"kurrentdb://": "esdb://", "kurrentdb+discover://": "esdb+discover://"}


def esdb_uri(uri: str) -> str:
    """The URI esdbclient accepts for ``uri`` (KurrentDB's schemes renamed to EventStoreDB's)."""
    for scheme, replacement in _SCHEMES.items():
        if uri.startswith(scheme):
            return replacement + uri.removeprefix(scheme)
    return uri


class EventStoreDBStore(EventStore):
    """Event store on an EventStoreDB/KurrentDB server or cluster, connected on first use.

    ``root_certificates`` (PEM) is needed for TLS unless the URI names ``tlsCaFile``; a
    local insecure server is ``esdb://localhost:2113?tls=false``.
    """

    def __init__(self, uri: str, *, root_certificates: str | bytes | None = None) -> None:
        self.uri = esdb_uri(uri)
        self.root_certificates = root_certificates
        self._client: EventStoreDBClient | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        # The URI may carry credentials: show only where it points.
        return f"EventStoreDBStore({redact_urls(self.uri)!r})"

    @property
    def client(self) -> EventStoreDBClient:
        """The esdbclient client; constructing it connects (and discovers the leader)."""
        with self._lock:
            if self._client is None:
                try:
                    self._client = EventStoreDBClient(
                        self.uri, root_certificates=self.root_certificates
                    )
                except EventStoreDBClientException as exc:
                    raise EventStoreError(
                        f"cannot connect to {self!r}: {redact_urls(str(exc))}"
                    ) from exc
            return self._client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def append_to_stream(
        self,
        stream_name: str,
        *,
        current_version: ExpectedVersion,
        events: Sequence[NewEvent],
    ) -> int:
        check_append(stream_name, current_version, events)
        version: int | StreamState
        if current_version is None:
            version = StreamState.NO_STREAM
        elif current_version == ANY:
            version = StreamState.ANY
        else:
            version = int(current_version)
        new_events = [
            esdbclient.NewEvent(type=e.type, data=e.data, metadata=e.metadata, id=e.id)
            for e in events
        ]
        try:
            return self.client.append_to_stream(
                stream_name, current_version=version, events=new_events
            )
        except WrongCurrentVersion as exc:
            raise WrongExpectedVersion(f"stream {stream_name!r}: {exc}") from exc
        except EventStoreDBClientException as exc:
            _raise_store_error(exc)

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
        try:
            events = self.client.get_stream(
                stream_name,
                stream_position=stream_position,
                backwards=backwards,
                limit=sys.maxsize if limit is None else limit,
            )
        except (NotFound, StreamIsDeleted) as exc:
            raise StreamNotFound(f"stream {stream_name!r} not found") from exc
        except EventStoreDBClientException as exc:
            _raise_store_error(exc)
        return tuple(_recorded_event(e) for e in events)

    def get_current_version(self, stream_name: str) -> int | None:
        check_stream_name(stream_name)
        try:
            version = self.client.get_current_version(stream_name)
        except EventStoreDBClientException as exc:
            _raise_store_error(exc)
        return None if version is StreamState.NO_STREAM else int(version)

    def read_all(
        self, *, commit_position: int | None = None, limit: int | None = None
    ) -> Iterator[RecordedEvent]:
        check_limit(limit)
        return self._read_all(commit_position, limit)

    def _read_all(self, after: int | None, limit: int | None) -> Iterator[RecordedEvent]:
        # Reading forwards from `after` returns the event at `after` first: ask for one more.
        count = sys.maxsize if limit is None else (limit if after is None else limit + 1)
        try:
            response = self.client.read_all(commit_position=after, limit=count)
        except EventStoreDBClientException as exc:
            _raise_store_error(exc)
        delivered = 0
        try:
            for event in response:
                if after is not None and (event.commit_position or 0) <= after:
                    continue
                yield _recorded_event(event)
                delivered += 1
                if limit is not None and delivered >= limit:
                    return
        except EventStoreDBClientException as exc:
            _raise_store_error(exc)
        finally:
            response.stop()

    def subscribe_to_all(
        self,
        *,
        commit_position: int | None = None,
        stop: threading.Event | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> Iterator[RecordedEvent]:
        stop = stop or threading.Event()
        try:
            subscription = self.client.subscribe_to_all(commit_position=commit_position)
        except EventStoreDBClientException as exc:
            _raise_store_error(exc)
        # The subscription blocks in next() until the server sends something, so a watcher
        # thread cancels it when `stop` is set; the cancelled iterator then just ends.
        finished = threading.Event()

        def watch() -> None:
            while not finished.is_set():
                if stop.wait(poll_interval):
                    subscription.stop()
                    return

        watcher = threading.Thread(target=watch, name="esdb-subscription-stop", daemon=True)
        watcher.start()
        try:
            for event in subscription:
                if stop.is_set():
                    return
                yield _recorded_event(event)
        except EventStoreDBClientException as exc:
            if not stop.is_set():
                _raise_store_error(exc)
        finally:
            finished.set()
            subscription.stop()


def _raise_store_error(exc: EventStoreDBClientException) -> NoReturn:
    raise EventStoreError(f"{type(exc).__name__}: {redact_urls(str(exc))}") from exc


def _recorded_event(event: esdbclient.RecordedEvent) -> RecordedEvent:
    recorded_at: datetime | None = event.recorded_at
    return RecordedEvent(
        id=event.id,
        type=event.type,
        data=event.data,
        metadata=event.metadata,
        stream_name=event.stream_name,
        stream_position=event.stream_position,
        commit_position=-1 if event.commit_position is None else event.commit_position,
        recorded_at_ms=0 if recorded_at is None else int(recorded_at.timestamp() * 1000),
    )
