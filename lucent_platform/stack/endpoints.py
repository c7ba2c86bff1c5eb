"""Where each service is: external from settings, or the running local stack's own record.

``lucent up`` writes ``DATA_DIR/stack.json`` once every service is healthy, and hands the same
addresses to its children as ``LUCENT_*`` variables. Any other command (``lucent topics list``,
a Dagster run, a test) resolves endpoints the same way, so it talks to the same services.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from lucent_platform.config import Settings
from lucent_platform.stack.errors import StackError
from lucent_platform.stack.process import alive

STACK_FILE = "stack.json"


@dataclass(frozen=True)
class Endpoints:
    """Addresses of the four data services (plus the Dagster UI when it runs)."""

    kafka_bootstrap_servers: str
    nats_url: str
    clickhouse_url: str
    eventstore: str  # an esdb:// URI or the embedded store's file path
    dagster_url: str | None = None

    def as_env(self) -> dict[str, str]:
        """The ``LUCENT_*`` variables that point a child process at these services."""
        env = {
            "LUCENT_KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "LUCENT_NATS_URL": self.nats_url,
            "LUCENT_CLICKHOUSE_URL": self.clickhouse_url,
        }
        if "://" in self.eventstore:
            env["LUCENT_EVENTSTORE_URI"] = self.eventstore
        else:
            env["LUCENT_EVENTSTORE_PATH"] = self.eventstore
        return env

    def write(self, data_dir: Path) -> Path:
        path = data_dir / STACK_FILE
        payload = {**asdict(self), "pid": os.getpid()}
        # owner-only: an esdb:// URI here may carry the event store's password
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(payload, indent=2))
        path.chmod(0o600)  # a file left by an older version keeps its mode through O_TRUNC
        return path


def read_stack_file(data_dir: Path) -> Endpoints | None:
    """The running stack's endpoints, or None when no live ``lucent up`` owns ``data_dir``."""
    path = data_dir / STACK_FILE
    try:
        payload = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    pid = payload.pop("pid", None)
    if not isinstance(pid, int) or not alive(pid):
        return None
    return Endpoints(**payload)


_SETTING = {
    "kafka_bootstrap_servers": "LUCENT_KAFKA_BOOTSTRAP_SERVERS",
    "nats_url": "LUCENT_NATS_URL",
    "clickhouse_url": "LUCENT_CLICKHOUSE_URL",
    "eventstore": "LUCENT_EVENTSTORE_URI",
}


def resolve(settings: Settings) -> Endpoints:
    """External services from settings; otherwise the running local stack's endpoints."""
    running = read_stack_file(settings.data_dir)
    external = {
        "kafka_bootstrap_servers": settings.kafka_bootstrap_servers,
        "nats_url": settings.nats_url,
        "clickhouse_url": settings.clickhouse_url,
        "eventstore": settings.eventstore_uri
        or (str(settings.eventstore_path) if settings.eventstore_path else None),
    }
    missing = [name for name, value in external.items() if value is None]
    if missing and running is None:
        names = ", ".join(_SETTING[name] for name in missing)
        raise StackError(
            f"no running local stack under {settings.data_dir} and {names} not set — "
            "start one with `lucent up` (or `make run`), or point the settings at your services"
        )
    chosen = {
        name: value if value is not None else getattr(running, name)
        for name, value in external.items()
    }
    return Endpoints(**chosen, dagster_url=running.dagster_url if running else None)


def resolve_kafka(settings: Settings) -> str:
    """Only the Kafka address: the setting, or the running local stack's broker."""
    if settings.kafka_bootstrap_servers:
        return settings.kafka_bootstrap_servers
    running = read_stack_file(settings.data_dir)
    if running is None:
        raise StackError(
            f"no running local stack under {settings.data_dir} and LUCENT_KAFKA_BOOTSTRAP_SERVERS "
            "not set — start one with `lucent up` (or `make run`), or point the setting at Kafka"
        )
    return running.kafka_bootstrap_servers
