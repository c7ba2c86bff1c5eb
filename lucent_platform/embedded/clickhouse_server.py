"""Embedded ClickHouse: one chDB session on a data dir, served over the ClickHouse HTTP interface.

Only one process can open a chDB data dir, yet the sink, Dagster runs and the CLI all need
ClickHouse: this process owns the dir and serves, on loopback only, the part of the HTTP interface
that clickhouse-connect uses (DESIGN.md, decision 5). Statements run one at a time, in arrival
order, on the single session (``clickhouse_engine``), each in its request's database with its
URL settings and its ``session_id``'s SET/USE; one statement per request, as ClickHouse does.
Request bodies may be compressed (lz4, zstd, gzip, deflate); responses are sent plain, which
HTTP allows whatever the client accepts. README "Operations notes" lists what is supported.
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

from lucent_platform.embedded.clickhouse_engine import ChdbEngine, Context, ServerError
from lucent_platform.embedded.clickhouse_sql import MultiStatementError, parse, split_insert
from lucent_platform.embedded.http_body import form_fields, read_body

log = logging.getLogger("lucent.clickhouse_server")

# URL parameters about the HTTP exchange itself, never settings: each is honoured (query,
# database, default_format, session_*, query_id is echoed), or has nothing to do here
# (wait_end_of_query, buffer_size: every result is buffered whole; progress headers: results
# come at once; user, password, quota_key, role: the embedded server has no users; responses
# are never compressed; client_protocol_version: chDB writes Native in one revision).
TRANSPORT_PARAMS = frozenset(
    "query database default_format session_id session_timeout session_check query_id"  # noqa: SIM905
    " quota_key user password role buffer_size wait_end_of_query"
    " client_protocol_version enable_http_compression send_progress_in_http_headers"
    " http_headers_progress_interval_ms cancel_http_readonly_queries_on_client_close".split()
)
# ClickHouse's own block compression of Native bodies: refused, so that a client asking for it
# gets an error rather than bytes it cannot read.
NATIVE_COMPRESSION = ("compress", "decompress")
DEFAULT_MAX_BODY = 1 << 30
TEXT = "text/plain; charset=UTF-8"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
# ClickHouse's HTTP status per exception code (HTTPHandler.cpp), for the codes chDB raises on
# bad requests; every other failure is a 500. clickhouse-connect raises on any of them.
HTTP_STATUS = {
    **dict.fromkeys((6, 8, 15, 25, 26, 27, 36, 38, 41, 44, 53, 62, 72, 117), 400),
    **dict.fromkeys((167, 168, 321, 457), 400),
    **dict.fromkeys((46, 47, 50, 56, 60, 63, 73, 81, 115, 372), 404),
    **dict.fromkeys((164, 497), 403),
    48: 501,
    290: 413,
}


def split_params(params: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The ``param_*`` bound values and the ClickHouse settings among the URL parameters."""
    if asked := [name for name in NATIVE_COMPRESSION if params.get(name, "0") not in ("", "0")]:
        reason = "ClickHouse block compression is unsupported by the embedded server"
        raise ServerError(f"{asked[0]}=1: {reason}; use HTTP compression or none")
    bound = {k.removeprefix("param_"): v for k, v in params.items() if k.startswith("param_")}
    skip = TRANSPORT_PARAMS | set(NATIVE_COMPRESSION)
    settings = {k: v for k, v in params.items() if k not in skip and k[:6] != "param_"}
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
        except Exception as exc:  # one request's failure, whatever it is, is its answer only
            text = error_text(exc, engine.version)
            log.debug("query %s failed: %s", query_id, text)
            code = text[6 : text.index(".")]
            headers["X-ClickHouse-Exception-Code"] = code
            headers |= {"Content-Type": TEXT, "Connection": "close"}  # the body may be unread
            status = HTTP_STATUS.get(int(code), 500) if code.isdigit() else 500
            return self._send(status, text.encode() + b"\n", headers)
        headers["Content-Type"] = "application/octet-stream" if fmt == "Native" else TEXT
        if fmt:  # ClickHouse names a format only for statements that produce a result
            headers["X-ClickHouse-Format"] = fmt
        self._send(200, body, headers)

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)

    def _execute(self, params: dict[str, str]) -> tuple[bytes, str | None, str]:
        """Run the request's statement: (response body, output format or None, summary)."""
        self._check_origin()
        headers = {name.lower(): value for name, value in self.headers.items()}
        pieces = read_body(self.rfile, headers, self.server.max_body)
        engine, started = self.server.engine, time.perf_counter_ns()
        if headers.get("content-type", "").startswith("multipart/form-data"):
            params = params | form_fields(headers["content-type"], b"".join(pieces))
            pieces = []
        bound, settings = split_params(params)
        ctx = Context.from_params(params, settings)
        sql = params.get("query", "")
        if not sql:  # an insert's data may follow its INSERT line in the body
            sql, pieces = first_line(pieces)
        if sql and (insert := split_insert(sql)):
            done = engine.insert(*insert, pieces, ctx)
            size = sum(map(len, pieces))
            return b"", None, summary(started, done.rows_written, size)
        text = "\n".join(filter(None, (sql, b"".join(pieces).decode())))
        try:
            statement = parse(text)
        except MultiStatementError as exc:
            raise ServerError(str(exc), 62, "SYNTAX_ERROR") from None
        fmt = statement.output_format or params.get("default_format") or "TabSeparated"
        result = engine.query(statement, fmt, bound, ctx)
        read = (result.rows_read(), result.bytes_read())
        done = summary(started, result.rows_written(), result.bytes_written(), read)
        named = statement.output_format or statement.is_read
        return result.bytes(), fmt if named else None, done

    def _check_origin(self) -> None:
        """Refuse what a web browser could send: a page may POST to loopback ports, and may
        reach them under its own host name (DNS rebinding); clickhouse-connect does neither."""
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        if self.headers.get("Origin") is not None or (host and host not in LOOPBACK_HOSTS):
            raise ServerError("requests from web pages are refused", 497, "ACCESS_DENIED")

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def first_line(pieces: list[bytes]) -> tuple[str, list[bytes]]:
    """Split the body's first line (an INSERT's) from the data after it, copying only the
    piece that holds the line break; ("", pieces) when the body is not an insert."""
    head = pieces[0][:4096] if pieces else b""
    if (end := head.find(b"\n")) < 0 or head[:end].lstrip()[:6].upper() != b"INSERT":
        return "", pieces
    line = head[: end + 1].decode(errors="replace")
    if split_insert(line) is None:
        return "", pieces
    rest = pieces[0][end + 1 :]
    return line, ([rest] if rest else []) + pieces[1:]


class StartupError(Exception):
    """The server cannot start; the message is one line saying what to fix."""


class EmbeddedServer(ThreadingHTTPServer):  # a thread per connection, all sharing the engine
    engine: ChdbEngine
    max_body: int = DEFAULT_MAX_BODY

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


def start(data_dir: Path, host: str, port: int, max_body: int = DEFAULT_MAX_BODY) -> EmbeddedServer:
    """Bind the loopback port and open the data dir, or raise StartupError."""
    try:
        address = socket.gethostbyname(host)  # IPv4: the server binds an AF_INET socket
    except OSError:
        raise StartupError(f"cannot serve ClickHouse on {host}: use 127.0.0.1") from None
    if not ipaddress.ip_address(address).is_loopback:
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
    server.max_body = max_body
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
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY,
                        help="largest request body accepted (413 beyond)")  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        server = start(args.data_dir.resolve(), args.host, args.port, args.max_body_bytes)
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
