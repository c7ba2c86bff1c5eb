"""``lucent chaos soak``: the whole local pipeline under a steady load for N minutes.

Starts what ``lucent up --no-dagster`` starts (embedded services, feed, processor, sink, apps,
bridge, domain, monitor) with the simulated feed driven at the wanted rate, takes a reading
every interval and turns each pair into a row (``minutes``), then stops the feed, waits for
every consumer to catch up (the drain), takes the final reading for the accounting, stops
everything and judges the rows (``verdict``). The broker must be the embedded one: the
accounting counts every raw record from the first, so a broker with older records would not
add up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lucent_platform.chaos.minutes import Minute, minute
from lucent_platform.chaos.readings import Reading, read
from lucent_platform.chaos.verdict import (
    FLAT_MB_PER_MIN,
    LAG_GROWTH,
    Accounting,
    Drain,
    Verdict,
    accounting,
    judge,
)
from lucent_platform.config import Settings
from lucent_platform.stack.errors import StackError
from lucent_platform.stack.local import LocalStack
from lucent_platform.status.gather import Sample, gather

DRAIN_POLL_S = 3.0


@dataclass(frozen=True)
class Plan:
    minutes: float
    rate: float  # msg/s wanted into the raw topics
    interval_s: float = 60.0
    drain_s: float = 180.0
    flat_mb_per_min: float = FLAT_MB_PER_MIN
    lag_growth: float = LAG_GROWTH
    warm_up_min: float = 0.0  # memory is judged after this, or over the second half if later


@dataclass
class SoakReport:
    plan: Plan
    multiplier: float  # LUCENT_SIMULATOR_RATE the feed ran at
    workers: list[str]
    rows: list[Minute] = field(default_factory=list)
    interrupted: bool = False
    drain: Drain | None = None
    books: Accounting | None = None
    verdict: Verdict | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "command": "lucent chaos soak",
            "plan": self.plan.__dict__,
            "simulator_rate": round(self.multiplier, 3),
            "workers": self.workers,
            "interrupted": self.interrupted,
            "minutes": [row.as_dict() for row in self.rows],
            "drain": None if self.drain is None else self.drain.__dict__,
            "accounting": None if self.books is None else self.books.as_dict(),
            "verdict": None if self.verdict is None else self.verdict.as_dict(),
        }


def run(
    settings: Settings,
    workers: Sequence[str],
    worker_env: dict[str, str],
    plan: Plan,
    multiplier: float,
    echo: Callable[[Minute], None] = lambda _row: None,
) -> SoakReport:
    """Run the soak; every row is handed to ``echo`` as soon as it is read."""
    if settings.kafka_bootstrap_servers:
        raise StackError(
            "lucent chaos soak counts every record from an empty broker: unset "
            "LUCENT_KAFKA_BOOTSTRAP_SERVERS so it starts the embedded one"
        )
    report = SoakReport(plan, multiplier, list(workers))
    stack = LocalStack(settings, with_dagster=False, workers=workers, worker_env=worker_env)
    try:
        bootstrap = stack.start().kafka_bootstrap_servers

        def take(
            previous: Sample | None, floor: Reading | None = None
        ) -> tuple[Reading, Sample | None]:
            # pids read each time: a restarted child has a new one
            pids = {_short(p.name): p.pid for p in stack.processes if p.pid is not None}
            return read(settings, bootstrap, workers, pids, previous, floor)

        first, sample = take(None)
        before, end = first, first.at_s + plan.minutes * 60
        while before.at_s < end - 1.0 and not report.interrupted:
            mark = min(before.at_s + plan.interval_s, end)
            stack.supervise(max(mark - time.monotonic(), 0.0))
            report.interrupted = time.monotonic() < mark - 1.0  # Ctrl-C or SIGTERM
            after, sample = take(sample, before)
            report.rows.append(minute(before, after, first.at_s))
            echo(report.rows[-1])
            before = after
        for process in stack.processes:
            if process.name == "worker feed":
                process.stop()  # flushes what it produced
        drain, sample = _drain(settings, workers, sample, plan.drain_s)
        final, _ = take(sample, before)
        books = accounting(final)
    finally:
        stack.stop()
    report.drain, report.books = drain, books
    report.verdict = judge(report.rows, books, drain, rate=plan.rate,
                           flat_mb_per_min=plan.flat_mb_per_min,
                           lag_growth=plan.lag_growth,
                           warm_up_min=plan.warm_up_min)  # fmt: skip
    return report


def _drain(
    settings: Settings, workers: Sequence[str], sample: Sample | None, limit_s: float
) -> tuple[Drain, Sample | None]:
    """Wait until every consumer still running is 0 behind (or ``limit_s`` passes)."""
    started = time.monotonic()
    lags: dict[str, int | None] = {}
    while True:
        snapshot, sample = gather(settings, workers, previous=sample)
        lags = {
            w.name: w.lag for w in snapshot.workers if w.state == "running" and w.name != "feed"
        }
        waited = time.monotonic() - started
        if all(not lag for lag in lags.values()):
            return Drain(round(waited, 1), True, lags), sample
        if waited >= limit_s:
            return Drain(round(waited, 1), False, lags), sample
        time.sleep(DRAIN_POLL_S)


def _short(process_name: str) -> str:
    """``worker processor`` → ``processor``; ``kafka (tansu)`` → ``kafka``."""
    return process_name.removeprefix("worker ").split(" ")[0]
