"""The embedded server's engine: the data dir's one chDB session, shared fairly and safely.

chDB gives one session per data dir and keeps ``SET``/``USE`` on it for good; ClickHouse
scopes URL settings to their request and ``SET``/``USE`` to the client's ``session_id``. The
engine runs one statement at a time (a FIFO lock, so a long query delays an insert but never
starves it) and before each one brings the chDB session to the request's state: its database
and the settings of its session plus its URL. What a ``SET``/``USE`` changed is read back
from chDB and kept per ``session_id``, so it never leaks into other clients.

Settings the session must never hold are handled here: ``readonly`` (once set, chDB can never
clear it: the whole server would turn read-only) is enforced by the engine per request, and
``async_insert`` is dropped because inserts are already synchronous.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lucent_platform.embedded.clickhouse_sql import Statement

SETTING_NAME = re.compile(r"[A-Za-z_]\w*")
DEFAULT_SESSION_TIMEOUT, MAX_SESSION_TIMEOUT = 60.0, 3600.0  # ClickHouse's defaults
# Inserts are synchronous here, which keeps async_insert's promise (the rows are stored) and
# more; passing it to chDB would only change how de-duplication tokens behave.
IGNORED_SETTINGS = frozenset({"async_insert", "wait_for_async_insert"})


class ServerError(Exception):
    """A request the server refuses, worded like a ClickHouse exception."""

    def __init__(self, message: str, code: int = 48, name: str = "NOT_IMPLEMENTED") -> None:
        super().__init__(f"Code: {code}. DB::Exception: {message}. ({name})")


class FairLock:
    """A lock granted in arrival order: each waiter gets its own lock, handed over on release."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()
        self._held = False

    def __enter__(self) -> None:
        with self._mutex:
            if not self._held:
                self._held = True
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        turn.acquire()  # released by the holder that hands the engine over

    def __exit__(self, *_: object) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._held = False


@dataclass
class Session:
    """What ``SET`` and ``USE`` left on one client's ``session_id``."""

    timeout: float
    expires: float
    settings: dict[str, str] = field(default_factory=dict)
    database: str | None = None


@dataclass(frozen=True)
class Context:
    """Where and how one request runs: URL database and settings, session, readonly."""

    database: str | None = None
    settings: dict[str, str] = field(default_factory=dict)
    session_id: str | None = None
    session_timeout: float | None = None
    session_check: bool = False
    readonly: int = 0

    @classmethod
    def from_params(cls, params: dict[str, str], settings: dict[str, str]) -> Context:
        """Build from the URL parameters and the settings among them (validated here)."""
        if bad := [name for name in settings if not SETTING_NAME.fullmatch(name)]:
            raise ServerError(f"Unknown setting {bad[0]!r}", 115, "UNKNOWN_SETTING")
        settings = {k: v for k, v in settings.items() if k not in IGNORED_SETTINGS}
        readonly = settings.pop("readonly", "0")
        if readonly not in ("0", "1", "2"):
            raise ServerError(f"readonly must be 0, 1 or 2, not {readonly!r}", 36, "BAD_ARGUMENTS")
        timeout = params.get("session_timeout")
        try:
            seconds = float(timeout) if timeout else None
        except ValueError:
            seconds = -1.0
        if seconds is not None and not 0 < seconds <= MAX_SESSION_TIMEOUT:
            message = f"session_timeout must be a number of seconds in (0, {MAX_SESSION_TIMEOUT:g}]"
            raise ServerError(message, 36, "BAD_ARGUMENTS")
        return cls(
            database=params.get("database") or None,
            settings=settings,
            session_id=params.get("session_id") or None,
            session_timeout=seconds,
            session_check=params.get("session_check") == "1",
            readonly=int(readonly),
        )


class ChdbEngine:
    """The data dir's single chDB session; statements run one at a time, in arrival order."""

    def __init__(self, data_dir: Path) -> None:
        from chdb import session  # deferred (0.5 s) so that start-up checks fail fast

        self._session = session.Session(str(data_dir))
        self._lock = FairLock()
        self._sessions: dict[str, Session] = {}
        self._baseline = self._changed_settings()  # what chDB itself starts with
        self._applied: dict[str, str] = {}  # set on top of the baseline
        self._database = "default"
        probe = self._session.query("SELECT version(), timezone()", "TabSeparated")
        self.version, self.timezone = probe.bytes().decode().split()

    def query(self, statement: Statement, fmt: str, params: dict[str, str], ctx: Context) -> Any:
        """Run one statement in the request's state; chDB's result."""
        self._check_allowed(statement, ctx)
        with self._lock:
            session = self._client_session(ctx)
            database = ctx.database or (session.database if session else None) or "default"
            if statement.kind in ("SET", "USE"):
                # Run it over the session's own state, then read back what it changed: URL
                # settings of this request are not the session's.
                self._prepare(database, session.settings if session else {})
                result = self._session.query(statement.sql, fmt, params=params)
                self._remember(statement.kind, session)
                return result
            self._prepare(database, {**(session.settings if session else {}), **ctx.settings})
            return self._session.query(statement.sql, fmt, params=params)

    def insert(self, head: str, fmt: str, chunks: list[bytes], ctx: Context) -> Any:
        """Insert the body ``chunks`` encoded in ``fmt`` through ``head`` (no FORMAT clause)."""
        if ctx.readonly:
            raise ServerError("Cannot execute query in readonly mode", 164, "READONLY")
        with self._lock:
            session = self._client_session(ctx)
            database = ctx.database or (session.database if session else None) or "default"
            self._prepare(database, {**(session.settings if session else {}), **ctx.settings})
            with self._session.send_insert(head, fmt) as inserter:
                for chunk in chunks:  # chDB parses as it goes: the body is never joined
                    inserter.append(chunk)
                return inserter.finish()

    def close(self) -> None:
        """Close the session once the running statement ends, releasing the data dir lock."""
        with self._lock:
            self._session.close()

    @staticmethod
    def _check_allowed(statement: Statement, ctx: Context) -> None:
        if ctx.readonly and not statement.is_read:
            raise ServerError("Cannot execute query in readonly mode", 164, "READONLY")
        if statement.is_temporary:
            reason = "they would be shared by every client of the embedded server"
            raise ServerError(f"Temporary tables are not supported: {reason}; use a table")
        if statement.kind == "SET" and re.search(r"\breadonly\b", statement.sql, re.I):
            raise ServerError("SET readonly is not supported: pass readonly per request")

    def _client_session(self, ctx: Context) -> Session | None:
        """The request's session (created on first use), expired sessions dropped."""
        now = time.monotonic()
        for name in [name for name, s in self._sessions.items() if s.expires < now]:
            del self._sessions[name]
        if ctx.session_id is None:
            return None
        session = self._sessions.get(ctx.session_id)
        if session is None:
            if ctx.session_check:
                message = f"Session {ctx.session_id} not found"
                raise ServerError(message, 372, "SESSION_NOT_FOUND")
            timeout = ctx.session_timeout or DEFAULT_SESSION_TIMEOUT
            session = self._sessions[ctx.session_id] = Session(timeout, now)
        session.timeout = ctx.session_timeout or session.timeout
        session.expires = now + session.timeout
        return session

    def _prepare(self, database: str, settings: dict[str, str]) -> None:
        # SET only what changed, as clients resend the same settings with every request. chDB
        # applies a SET list all or nothing (measured), so a failure leaves `_applied` true.
        changes = [self._reset(name) for name in self._applied if name not in settings]
        changes += [f"{k} = {quote(v)}" for k, v in settings.items() if self._applied.get(k) != v]
        if changes:
            self._session.query("SET " + ", ".join(changes), "TabSeparated")
            self._applied = dict(settings)
        if database != self._database:
            self._session.query(f"USE `{database.replace('`', '``')}`", "TabSeparated")
            self._database = database

    def _reset(self, name: str) -> str:
        value = self._baseline.get(name)
        return f"{name} = DEFAULT" if value is None else f"{name} = {quote(value)}"

    def _remember(self, kind: str, session: Session | None) -> None:
        """After a SET or USE: note the chDB session's true state, and keep it for the client's
        session if it has one (without one, ClickHouse forgets it after the statement)."""
        if kind == "SET":
            changed = self._changed_settings()
            self._applied = {k: v for k, v in changed.items() if self._baseline.get(k) != v}
            if session is not None:
                session.settings = dict(self._applied)
        else:
            current = self._session.query("SELECT currentDatabase()", "TabSeparated")
            self._database = current.bytes().decode().rstrip("\n")
            if session is not None:
                session.database = self._database

    def _changed_settings(self) -> dict[str, str]:
        sql = "SELECT name, value FROM system.settings WHERE changed AND name != 'database'"
        rows = self._session.query(sql, "JSONCompactEachRow").bytes().splitlines()
        return {name: value for name, value in map(json.loads, rows)}


def quote(value: str) -> str:
    """A ClickHouse string literal (NUL escaped too: chDB reads the query as a C string)."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\0", "\\0")
    return f"'{escaped}'"
