"""``lucent worker NAME`` run as a user runs it, as a child process, against the services of
one test: the environment that names them, and the process with its log in a file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings
from lucent_platform.topics import fixed_topics

NOWHERE_NATS = "nats://127.0.0.1:9"  # named, never contacted


def worker_env(
    data_dir: Path, broker: str, nats_url: str = NOWHERE_NATS, **settings: str
) -> dict[str, str]:
    """The environment of a worker on ``broker`` (and ``nats_url``); ClickHouse is named but
    never contacted, the event store is a file in ``data_dir``. ``settings``: more
    ``LUCENT_*`` variables, by name. Unbuffered, so a SIGKILLed worker's log is whole."""
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "LUCENT_DATA_DIR": str(data_dir),
        "LUCENT_KAFKA_BOOTSTRAP_SERVERS": broker,
        "LUCENT_NATS_URL": nats_url,
        "LUCENT_CLICKHOUSE_URL": "http://127.0.0.1:9",
        "LUCENT_EVENTSTORE_PATH": str(data_dir / "events.sqlite"),
        **settings,
    }


def start_worker(name: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``lucent worker NAME``, its output appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "lucent_platform.cli", "worker", name],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def stop_workers(*processes: subprocess.Popen[bytes] | None, timeout: float = 60) -> None:
    """SIGTERM every worker still running and wait for it (a test's ``finally``)."""
    for process in processes:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout)


def provision_fixed_topics(settings: Settings, broker: str) -> None:
    """The platform's fixed topics on ``broker``, a one-broker test cluster."""
    kafka.provision(
        kafka.admin(settings, broker), fixed_topics(), replication_factor=1, min_insync_replicas=1
    )
