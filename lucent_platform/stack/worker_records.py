"""Which workers a running ``lucent up`` started, under which pid, and how each one ended.

``lucent up`` writes ``DATA_DIR/workers.json`` once its workers are started and again whenever
the supervisor sees one exit (with its exit code); ``lucent status`` reads it to tell a running
worker from a stopped or crashed one without being the workers' parent::

    {"processor": {"pid": 4242, "log": ".lucent/logs/worker-processor.log",
                   "started_at_ms": 1764380000000, "exit_code": null, "metrics_port": null,
                   "restarts": 0, "reason": null}}

``metrics_port`` is where the worker serves Prometheus metrics, when it does (``None``: no
endpoint known, so ``lucent status`` shows latency as unknown and takes rates from offsets).
``restarts`` counts the supervisor's restarts of a crashed worker (``pid`` and ``started_at_ms``
are then the new process's); ``reason`` says why a crashed worker is waiting for its restart or
was left down (``lucent_platform.stack.supervise``).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

WORKERS_FILE = "workers.json"

STOPPED_ON_PURPOSE = frozenset({0, -2, -15, 130, 143})
"""Exit codes of a worker that was asked to stop: 0, ended by SIGINT/SIGTERM (negative: the
signal, as ``subprocess`` reports it) or a shell's ``128 + signal`` for the same. Any other
exit is a crash: ``lucent status`` shows it as such and ``lucent up`` restarts it."""


@dataclass(frozen=True)
class WorkerRecord:
    """One started worker, as its supervisor knows it."""

    pid: int
    log: str
    started_at_ms: int
    exit_code: int | None = None  # set once the supervisor has seen the process end
    metrics_port: int | None = None
    restarts: int = 0  # how often the supervisor started it again after a crash
    reason: str | None = None  # a crashed worker: restarting in n s, or why it stays down


def write_records(data_dir: Path, records: dict[str, WorkerRecord]) -> Path:
    """Replace ``DATA_DIR/workers.json`` atomically (a reader never sees half a file)."""
    path = data_dir / WORKERS_FILE
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps({name: asdict(r) for name, r in records.items()}, indent=2))
    os.replace(partial, path)
    return path


def read_records(data_dir: Path) -> dict[str, WorkerRecord]:
    """The records of ``DATA_DIR/workers.json``; none when there is no (readable) file."""
    try:
        payload = json.loads((data_dir / WORKERS_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    if not isinstance(payload, dict):
        return {}
    fields = set(WorkerRecord.__dataclass_fields__)
    records = {}
    for name, value in payload.items():
        if isinstance(value, dict) and {"pid", "log", "started_at_ms"} <= value.keys():
            records[str(name)] = WorkerRecord(**{k: v for k, v in value.items() if k in fields})
    return records
