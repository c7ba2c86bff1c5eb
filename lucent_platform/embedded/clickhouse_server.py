"""Embedded ClickHouse: one chDB session on a data dir, served over the ClickHouse HTTP interface.

Only one process can open a chDB data dir, yet the sink, Dagster runs and the CLI all need
ClickHouse: this process owns the dir and serves, on loopback only, the part of the HTTP interface
that clickhouse-connect uses (DESIGN.md, decision 5). Statements run one at a time on the single
session, each with its request's database and URL settings; SET statements and temporary tables
are shared by all clients. Bodies are not compressed either way: clients use compress=False.
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import ipaddress
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

log = logging.getLogger("lucent.clickhouse_server")

# URL parameters about the HTTP exchange itself: never applied to the session as settings.
TRANSPORT_PARAMS = frozenset(
    "query database default_format session_id session_timeout session_check query_id"  # noqa: SIM905
    " quota_key user password role buffer_size wait_end_of_query"
    " client_protocol_version enable_http_compression send_progress_in_http_headers"
    " http_headers_progress_interval_ms cancel_http_readonly_queries_on_client_close".split()
)
SETTING_NAME = re.compile(r"[A-Za-z_]\w*")
INSERT_QUERY = re.compile(r"\s*(INSERT\s+INTO\s[^']*?)\s+FORMAT\s+(\w+)\s*", re.I)
OUTPUT_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*\Z", re.I)
RESULT_SQL = re.compile(r"(?:\s|--.*\n|/\*.*?\*/|\()*(SELECT|WITH|SHOW|DESC|EXISTS|EXPLAIN)", re.I)
TEXT = "text/plain; charset=UTF-8"


class ServerError(Exception):
    """A request the server refuses, worded like a ClickHouse exception."""

    def __init__(self, message: str, code: int = 48, name: str = "NOT_IMPLEMENTED") -> None:
        super().__init__(f"Code: {code}. DB::Exception: {message}. ({name})")


class StartupError(Exception):
    """The server cannot start; the message is one line saying what to fix."""


class ChdbEngine:
    """The data dir's single chDB session; statements run one at a time under a lock."""

    def __init__(self, data_dir: Path) -> None:
        from chdb import session  # deferred (0.5 s) so that start-up checks fail fast

        self._session = session.Session(str(data_dir))
        self._lock = threading.Lock()
        self._applied: dict[str, str] = {}
        self._database = "default"
        probe = self._session.query("SELECT version(), timezone()", "TabSeparated")
        self.version, self.timezone = probe.bytes().decode().split()

    def query(self, sql: str, fmt: str, params: dict[str, str], db: str, settings: dict) -> Any:
        """Run one statement in the request's database with its settings; chDB's result."""
        with self._lock:
            self._prepare(db, settings)
            return self._session.query(sql, fmt, params=params)

    def insert(self, head: str, fmt: str, data: bytes, db: str, settings: dict) -> Any:
        """Insert ``data`` encoded in ``fmt`` through ``head``, an INSERT without its FORMAT."""
        with self._lock:
            self._prepare(db, settings)
            with self._session.send_insert(head, fmt) as inserter:
                inserter.append(data)
                return inserter.finish()

    def _prepare(self, database: str, settings: dict[str, str]) -> None:
        # SET only what changed, as clients resend the same settings with every request. chDB
        # applies a SET list all or nothing (measured), so a failure leaves `_applied` true.
        changes = [f"{name} = DEFAULT" for name in self._applied if name not in settings]
        changes += [f"{k} = {quote(v)}" for k, v in settings.items() if self._applied.get(k) != v]
        if changes:
            self._session.query("SET " + ", ".join(changes), "TabSeparated")
            self._applied = dict(settings)
        if database != self._database:
            self._session.query(f"USE `{database.replace('`', '``')}`", "TabSeparated")
            self._database = database

    def close(self) -> None:
        """Close the session once the running statement ends, releasing the data dir lock."""
        with self._lock:
            self._session.close()


def quote(value: str) -> str:
    """A ClickHouse string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def split_params(params: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The ``param_*`` bound values and the ClickHouse settings among the URL parameters."""
    bound = {k.removeprefix("param_"): v for k, v in params.items() if k.startswith("param_")}
    settings = {k: v for k, v in params.items() if k not in TRANSPORT_PARAMS and k[:6] != "param_"}
    if bad := [name for name in settings if not SETTING_NAME.fullmatch(name)]:
        raise ServerError(f"Unknown setting {bad[0]!r}", 115, "UNKNOWN_SETTING")
    return bound, settings


def error_text(exc: Exception, version: str) -> str:
    """ClickHouse's ``Code: N. DB::Exception: ... (version V)`` text for any failure."""
    text = str(exc)
    if (start := text.find("Code: ")) < 0:
        text, start = f"Code: 1001. DB::Exception: {type(exc).__name__}: {text}. (STD_EXCEPTION)", 0
    return text[start:] if "(version " in text else f"{text[start:]} (version {version})"


def summary(started_ns: int, rows: int, size: int, read: tuple[int, int] = (0, 0)) -> str:
    """The X-ClickHouse-Summary header (ClickHouse sends every number as a string)."""
    fields = {"read_rows": read[0], "read_bytes": read[1], "written_rows": rows}
    fields |= {"written_bytes": size, "elapsed_ns": time.perf_counter_ns() - started_ns}
    return json.dumps({name: str(value) for name, value in fields.items()})


class Handler(BaseHTTPRequestHandler):
    """Serves /ping and statements; every response has a Content-Length, so keep-alive works."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms ACK wait
    server: EmbeddedServer

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        if url.path in ("/", "/ping") and "query" not in params and self.command == "GET":
            return self._send(200, b"Ok.\n", {"Content-Type": TEXT})
        query_id, engine = params.get("query_id") or str(uuid.uuid4()), self.server.engine
        headers = {"X-ClickHouse-Query-Id": query_id}
        headers["X-ClickHouse-Timezone"] = params.get("session_timezone") or engine.timezone
        try:
            body, fmt, headers["X-ClickHouse-Summary"] = self._execute(params)
        except Exception as exc:
            text = error_text(exc, engine.version)
            log.debug("query %s failed: %s", query_id, text)
            headers["X-ClickHouse-Exception-Code"] = text[6 : text.index(".")]
            headers |= {"Content-Type": TEXT, "Connection": "close"}  # the body may be unread
            return self._send(500, text.encode() + b"\n", headers)
        headers["Content-Type"] = "application/octet-stream" if fmt == "Native" else TEXT
        if fmt:  # ClickHouse names a format only for statements that produce a result
            headers["X-ClickHouse-Format"] = fmt
        self._send(200, body, headers)

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)

    def _execute(self, params: dict[str, str]) -> tuple[bytes, str | None, str]:
        """Run the request's statement: (response body, output format or None, summary)."""
        body, engine, started = self._read_body(), self.server.engine, time.perf_counter_ns()
        if self.headers.get("Content-Type", "").startswith("multipart/"):  # params over 4 KiB
            raise ServerError("multipart forms are unsupported; bind long values client-side")
        bound, settings = split_params(params)
        db, sql = params.get("database") or "default", params.get("query", "")
        line = body[: body.find(b"\n") + 1]  # an insert's data follows its INSERT line
        if not sql and line and INSERT_QUERY.fullmatch(line.decode(errors="replace")):
            sql, body = line.decode(), body[len(line) :]
        if head := INSERT_QUERY.fullmatch(sql):
            done = engine.insert(head[1], head[2], body, db, settings)
            return b"", None, summary(started, done.rows_written, done.bytes_written)
        query = "\n".join(filter(None, (sql, body.decode())))
        named = OUTPUT_FORMAT.search(query)
        fmt = named[1] if named else params.get("default_format") or "TabSeparated"
        result = engine.query(query, fmt, bound, db, settings)
        read = (result.rows_read(), result.bytes_read())
        done = summary(started, result.rows_written(), result.bytes_written(), read)
        return result.bytes(), fmt if named or RESULT_SQL.match(query) else None, done

    def _read_body(self) -> bytes:
        """The request body, read in full before the session lock is taken so that a slow
        client never holds up the others (at the cost of memory: insert in batches)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():  # streamed inserts
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size + 2)[:-2])  # each chunk ends with CRLF
            while self.rfile.readline().strip():  # trailers
                pass
            body = b"".join(chunks)
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding", "identity") != "identity":
            raise ServerError("compressed request bodies are unsupported; use compress=False")
        return body

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class EmbeddedServer(ThreadingHTTPServer):  # a thread per connection, all sharing the engine
    engine: ChdbEngine

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection %s failed", client_address, exc_info=True)  # e.g. client went away


def check_data_dir_free(data_dir: Path) -> None:
    """Fail clearly if another process holds the dir: ClickHouse flocks ``status`` and writes
    its PID there, while chDB itself reports only a bare initialisation error."""
    try:
        fd = os.open(data_dir / "status", os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = re.search(r"PID: (\d+)", (data_dir / "status").read_text(errors="replace"))
        who, fix = f"pid {pid[1] if pid else '?'}", "stop it or set LUCENT_CLICKHOUSE_DATA_DIR"
        raise StartupError(f"ClickHouse data dir {data_dir} is in use by {who} — {fix}") from None
    finally:
        os.close(fd)  # also drops the probe lock


def start(data_dir: Path, host: str, port: int) -> EmbeddedServer:
    """Bind the loopback port and open the data dir, or raise StartupError."""
    if not ipaddress.ip_address(address := socket.gethostbyname(host)).is_loopback:
        raise StartupError(f"refusing to serve ClickHouse on {host}: loopback only (use 127.0.0.1)")
    data_dir.mkdir(parents=True, exist_ok=True)
    check_data_dir_free(data_dir)
    try:
        server = EmbeddedServer((address, port), Handler)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        fix = "stop what holds it or choose another --port (LUCENT_CLICKHOUSE_PORT)"
        raise StartupError(f"port {port} on {address} is already in use — {fix}") from None
    try:
        server.engine = ChdbEngine(data_dir)
    except Exception as exc:
        server.server_close()
        raise StartupError(f"cannot open ClickHouse data dir {data_dir}: {exc}") from None
    return server


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; if it cannot start, exit 1 with one line on stderr."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8123)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        server = start(args.data_dir.resolve(), args.host, args.port)
    except (StartupError, OSError) as exc:  # OSError: an unresolvable host, a port not allowed
        print(f"error: {exc}", file=sys.stderr)
        return 1
    stopping: list[int] = []  # a plain flag: locks are unsafe in signal handlers
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _: stopping.append(signum))
    threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True).start()
    url, version = "http://{}:{}".format(*server.server_address[:2]), server.engine.version
    log.info("ClickHouse %s (chDB) ready on %s, data dir %s", version, url, args.data_dir)
    while not stopping:
        time.sleep(0.1)
    server.shutdown()
    server.server_close()
    server.engine.close()
    log.info("stopped; data dir %s released", args.data_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
