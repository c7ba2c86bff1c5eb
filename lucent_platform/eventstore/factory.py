"""Choose the event store adapter from one setting: a server URI or a SQLite file path."""

from __future__ import annotations

import os
from typing import Final

from lucent_platform.eventstore.port import EventStore
from lucent_platform.eventstore.sqlite import SQLiteEventStore

SERVER_SCHEMES: Final = ("esdb://", "esdb+discover://", "kurrentdb://", "kurrentdb+discover://")


def open_event_store(uri_or_path: str | os.PathLike[str]) -> EventStore:
    """``esdb://…``/``kurrentdb://…`` → EventStoreDB adapter; anything else → SQLite file.

    Nothing connects here: both adapters connect on first use. The EventStoreDB adapter is
    imported only when asked for, so the embedded store never loads gRPC.
    """
    target = os.fspath(uri_or_path)
    if target.lower().startswith(SERVER_SCHEMES):
        from lucent_platform.eventstore.esdb import EventStoreDBStore

        return EventStoreDBStore(target)
    return SQLiteEventStore(target)
