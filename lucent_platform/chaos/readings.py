"""One look at the running pipeline: what the scenarios compare from one moment to the next.

A reading is ``lucent status``'s snapshot (``status.gather``: every worker's state, consumer
lag and ``/metrics`` text) plus the records on each stage's topics (``stage_report``'s stages,
from the broker) and each child process's resident memory and CPU time (``/proc``; psutil is
not in the lock). Counters and histograms are cumulative: ``minutes`` subtracts two readings.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from lucent_platform.config import Settings
from lucent_platform.status.gather import Sample, gather

TOPIC_TIMEOUT_S = 3.0  # the broker's answer on topic ends; busy partitions read until then
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
ATTEMPTS = 3
RETRY_S = 2.0


@dataclass(frozen=True)
class Reading:
    """The pipeline at one moment (``at_s`` is ``time.monotonic()`` as the reading began)."""

    at_s: float
    topics: Mapping[str, int]  # stage (ingested, normalized, dead_lettered, ...) → records
    metrics: Mapping[str, str]  # worker → its /metrics text
    lag: Mapping[str, int | None]  # worker → records its consumer group is behind
    states: Mapping[str, str]  # worker → running, stopped, crashed, ...
    rss_mb: Mapping[str, float | None]  # process (worker or service) → resident memory
    cpu_s: Mapping[str, float | None]  # process → CPU seconds it has used (user + system)


def read(
    settings: Settings,
    bootstrap: str,
    workers: Sequence[str],
    pids: Mapping[str, int],
    previous: Sample | None = None,
    floor: Reading | None = None,
) -> tuple[Reading, Sample | None]:
    """The pipeline now, and the status sample to hand back as ``previous`` next time (the
    first call waits ``gather``'s two seconds of rate interval).

    Topics only grow: a reading with fewer records on a stage's topics than ``floor`` (the
    reading before) is a broker answer to distrust — seen on the local broker under full CPU
    load, every watermark at once, with every lag 0 — and is taken again, up to
    ``ATTEMPTS`` times. A worker's metrics that did not answer are ``floor``'s."""
    reading, sample = _read(settings, bootstrap, workers, pids, previous)
    if floor is None:
        return reading, sample
    for _ in range(ATTEMPTS - 1):
        if all(reading.topics.get(stage, 0) >= n for stage, n in floor.topics.items()):
            break
        time.sleep(RETRY_S)
        reading, sample = _read(settings, bootstrap, workers, pids, previous)
    return carried(reading, floor), sample


def carried(reading: Reading, floor: Reading) -> Reading:
    """``reading`` with the metrics text of ``floor`` for each worker whose endpoint did not
    answer this time: its counters' growth then lands in the next row instead of being
    counted again from zero (a scrape times out on a box at full load)."""
    missed = {w: text for w, text in floor.metrics.items() if w not in reading.metrics}
    return replace(reading, metrics={**missed, **reading.metrics})


def _read(
    settings: Settings,
    bootstrap: str,
    workers: Sequence[str],
    pids: Mapping[str, int],
    previous: Sample | None,
) -> tuple[Reading, Sample | None]:
    from lucent_platform.adapters import kafka
    from lucent_platform.stage_report import count_stages
    from lucent_platform.topics import RETRACTIONS

    at_s = time.monotonic()  # the reading's reads follow within seconds: its start stands
    snapshot, sample = gather(settings, workers, previous=previous)
    infos = kafka.describe_topics(settings, bootstrap, timeout=TOPIC_TIMEOUT_S)
    topics = count_stages(infos)
    topics["retracted"] = sum(info.messages for info in infos if info.topic == RETRACTIONS)
    reading = Reading(
        at_s=at_s,
        topics=topics,
        metrics=dict(sample.metrics) if sample else {},
        lag={w.name: w.lag for w in snapshot.workers if w.state != "not started"},
        states={w.name: w.state for w in snapshot.workers if w.state != "not started"},
        rss_mb={name: rss_mb(pid) for name, pid in pids.items()},
        cpu_s={name: cpu_s(pid) for name, pid in pids.items()},
    )
    return reading, sample


def rss_mb(pid: int) -> float | None:
    """Resident memory of process ``pid`` in MiB (``VmRSS``); ``None`` once it is gone, or
    where there is no ``/proc``."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024  # kB
    return None


def cpu_s(pid: int) -> float | None:
    """CPU seconds process ``pid`` has used (``utime + stime`` of ``/proc/PID/stat``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
