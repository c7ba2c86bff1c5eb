"""What ``lucent status`` shows, as typed values, and the pure rules that derive them.

The screen and ``--json`` render the same ``Snapshot``; tests check the object. Times are
epoch milliseconds (UTC), ages seconds, rates messages per second, latencies milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from lucent_platform import topology
from lucent_platform.brokerhealth import BrokerHealth
from lucent_platform.lag import Partition
from lucent_platform.stack.worker_records import STOPPED_ON_PURPOSE

WorkerState = Literal["running", "stopped", "crashed", "not started", "unknown"]

WORKER_GROUPS: dict[str, str] = {
    "processor": topology.PROCESSOR,
    "clickhouse-sink": topology.SINK,
    "yield": topology.YIELD,
    "arbitrage": topology.ARBITRAGE,
    "patterns": topology.PATTERNS,
    "alerts": topology.ALERTS,
    "bridge": "lucent-bridge",
    "monitor": "lucent-monitor",
}
"""Worker → the consumer group it commits offsets as (the workers' own ``GROUP_ID``; a test
checks they agree). The feeds, ``predictions``, ``agents`` and ``domain`` commit none."""


@dataclass(frozen=True)
class ServiceStatus:
    name: str  # kafka, nats, clickhouse, eventstore, dagster
    address: str | None
    up: bool
    detail: str = ""  # why it is down, or what answered


@dataclass(frozen=True)
class WorkerStatus:
    name: str
    state: WorkerState
    pid: int | None = None
    exit_code: int | None = None
    group: str | None = None
    lag: int | None = None  # records the group has not committed past, over every topic
    # (no group: what its own consumers are behind, from its metrics endpoint)
    rate: float | None = None  # messages/s the group committed over the sampling interval
    # (no group: messages/s it consumed or delivered, from its metrics endpoint)
    p50_ms: float | None = None  # from the worker's metrics endpoint, when it has one
    p99_ms: float | None = None
    log: str | None = None
    restarts: int = 0  # how often `lucent up` restarted it after a crash
    reason: str | None = None  # crashed: restarting in n s, or why it was left down


@dataclass(frozen=True)
class SourceFreshness:
    table: str
    source: str
    venue: str
    last_event_ms: int
    age_s: float
    rows_5m: int


@dataclass(frozen=True)
class OpenAlert:
    at_ms: int
    key: str  # what the alert is about (rule and source), as one string
    severity: str
    message: str


@dataclass(frozen=True)
class Snapshot:
    taken_at_ms: int
    data_dir: str
    running: bool  # a local stack (or configured services) answered
    message: str  # one line: what this snapshot is, or why it is empty
    services: tuple[ServiceStatus, ...] = ()
    workers: tuple[WorkerStatus, ...] = ()
    freshness: tuple[SourceFreshness, ...] = ()
    alerts: tuple[OpenAlert, ...] | None = None  # None: not read (Kafka down, or it failed)
    notes: tuple[str, ...] = field(default=())  # parts that could not be read, and why
    broker: BrokerHealth | None = None  # None: not read (Kafka down, or it failed)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def worker_state(alive: bool | None, exit_code: int | None) -> WorkerState:
    """A started worker's state: running while its process lives; after, ``stopped`` for a
    clean exit (0, or ended by SIGTERM/SIGINT), ``crashed`` for anything else; a process that
    is gone before its supervisor saw it end (no exit code yet) counts as crashed."""
    if alive is None:
        return "unknown"
    if alive:
        return "running"
    if exit_code in STOPPED_ON_PURPOSE:
        return "stopped"
    return "crashed"


def committed_total(committed: Mapping[Partition, int]) -> int:
    """Sum of the offsets a group committed (partitions never committed left out)."""
    return sum(offset for offset in committed.values() if offset >= 0)


def commit_rate(
    before: Mapping[Partition, int], after: Mapping[Partition, int], elapsed_s: float
) -> float | None:
    """Messages/s a group committed between two samples, over the partitions committed in
    both; ``None`` without elapsed time, or when offsets went back (a reset or a new topic)."""
    shared = [p for p, o in after.items() if o >= 0 and before.get(p, -1) >= 0]
    if elapsed_s <= 0:
        return None
    grown = sum(after[p] - before[p] for p in shared)
    return grown / elapsed_s if grown >= 0 else None


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """The ``q`` quantile of a Prometheus histogram given as cumulative ``(le, count)``
    buckets (``le`` may be ``inf``), interpolated linearly inside the bucket as PromQL's
    ``histogram_quantile`` does; ``None`` when it has no observations."""
    ordered = sorted(buckets)
    if not ordered or ordered[-1][1] <= 0:
        return None
    rank = q * ordered[-1][1]
    lower_le, lower_count = 0.0, 0.0
    for le, count in ordered:
        if count >= rank:
            if math.isinf(le):
                return lower_le  # beyond the last finite bucket: its bound is all we know
            if count == lower_count:
                return le
            return lower_le + (le - lower_le) * (rank - lower_count) / (count - lower_count)
        lower_le, lower_count = le, count
    return lower_le
