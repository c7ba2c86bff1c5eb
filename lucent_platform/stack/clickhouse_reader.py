"""A ClickHouse to read from for one command, even when no stack is running.

``lucent query`` answers from what ``lucent up`` or ``lucent demo`` stored: from the configured
server (``LUCENT_CLICKHOUSE_URL``), else from the running stack's embedded server, else by
starting the embedded server on the data dir they left (``LUCENT_DATA_DIR``) for the duration
of the command. Only one process may open a chDB data dir, so a running stack's server is
always asked rather than the dir opened a second time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from lucent_platform.config import Settings
from lucent_platform.stack import services
from lucent_platform.stack.endpoints import read_stack_file
from lucent_platform.stack.errors import StackError
from lucent_platform.stack.ports import LOOPBACK, free_port


@dataclass(frozen=True)
class ClickHouseSource:
    """The server's URL and, in words, where it came from."""

    url: str
    via: str
    started: bool = False  # an embedded server started for this command only


@contextmanager
def clickhouse_for_reading(settings: Settings) -> Iterator[ClickHouseSource]:
    """The ClickHouse to read from (see the module doc); a server started here is stopped on
    exit. Raises ``StackError`` when there is none and no data dir to serve."""
    if settings.clickhouse_url:
        yield ClickHouseSource(settings.clickhouse_url, "LUCENT_CLICKHOUSE_URL")
        return
    running = read_stack_file(settings.data_dir)
    if running is not None:
        yield ClickHouseSource(running.clickhouse_url, f"the stack running on {settings.data_dir}")
        return
    data_dir = settings.resolved_clickhouse_data_dir
    if not data_dir.is_dir() or not any(data_dir.iterdir()):
        raise StackError(
            f"no data to query: no running local stack under {settings.data_dir}, "
            f"LUCENT_CLICKHOUSE_URL not set, and no ClickHouse data in {data_dir} — run "
            "`lucent demo` or `lucent up` first, or set LUCENT_DATA_DIR to the data dir they used"
        )
    port = free_port()
    server = services.clickhouse_server(port, data_dir, settings.data_dir / "logs")
    server.start()
    try:
        server.wait_ready()
        yield ClickHouseSource(
            f"http://{LOOPBACK}:{port}",
            f"the embedded server started on {data_dir} for this command",
            started=True,
        )
    finally:
        server.stop()
