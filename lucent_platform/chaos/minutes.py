"""One row of the soak per interval (a minute by default), from two readings: pure.

In is the records the raw topics gained, out what the normalized topics and the dead-letter
topic gained (from the broker, not the workers' word). Latency is the processor's own, as
``lucent status`` shows it (``lucent_input_latency_seconds``: raw record written → its output
durable), over just this interval: the cumulative histograms of the two scrapes subtracted
bucket by bucket (one bucket per doubling, interpolated inside). Errors are the counters that
mean something went wrong, summed over the workers, plus the workers no longer running.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from lucent_platform.chaos.readings import Reading
from lucent_platform.status.metrics_text import LATENCY_HISTOGRAMS, histogram, total
from lucent_platform.status.snapshot import histogram_quantile

PROCESSOR = "processor"
SINK = "clickhouse-sink"
LATENCY = LATENCY_HISTOGRAMS[0]  # what `lucent status` shows as a worker's p50/p99
ROWS = "lucent_clickhouse_rows_inserted_total"

ERROR_COUNTERS: Mapping[str, tuple[str, dict[str, str]]] = {
    "commit_failures": ("lucent_stage_events_total", {"event": "commit_failures"}),
    "consume_errors": ("lucent_stage_events_total", {"event": "consume_errors"}),
    "processing_errors": ("lucent_messages_dead_lettered_total", {"reason": "processing_error"}),
    "insert_failures": ("lucent_clickhouse_insert_failures_total", {}),
    "publish_failures": ("lucent_published_total", {"outcome": "failed"}),
}
"""Error name → (sample name, labels) in the workers' metrics."""


@dataclass(frozen=True)
class Minute:
    """What the pipeline did between two readings."""

    at_min: float  # minutes since the soak's first reading, at this row's end
    seconds: float  # length of the interval
    msgs_in: int  # records the raw topics gained
    normalized: int  # records the normalized topics gained
    dead_lettered: int  # records the dead-letter topic gained
    p50_ms: float | None  # processor: raw record → output durable, this interval only
    p99_ms: float | None
    latency_samples: int
    sink_rows: int  # rows the ClickHouse sink inserted
    lag: dict[str, int | None]  # worker → its consumer lag at the row's end
    rss_mb: dict[str, float | None]  # process → resident memory at the row's end
    cpu: dict[str, float | None]  # process → cores it kept busy over the interval
    errors: dict[str, int]

    @property
    def msgs_out(self) -> int:
        return self.normalized + self.dead_lettered

    @property
    def in_rate(self) -> float:
        return self.msgs_in / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "msgs_out": self.msgs_out, "in_rate": round(self.in_rate, 1)}


def minute(before: Reading, after: Reading, started_s: float) -> Minute:
    """The row for the interval from ``before`` to ``after``."""
    p50, p99, samples = _latency(before.metrics.get(PROCESSOR), after.metrics.get(PROCESSOR))
    errors = {name: _counter_delta(before, after, sample, labels)
              for name, (sample, labels) in ERROR_COUNTERS.items()}  # fmt: skip
    errors["workers_down"] = sum(1 for state in after.states.values() if state != "running")
    return Minute(
        at_min=round((after.at_s - started_s) / 60, 3),
        seconds=round(after.at_s - before.at_s, 2),
        msgs_in=_topic_delta(before, after, "ingested"),
        normalized=_topic_delta(before, after, "normalized"),
        dead_lettered=_topic_delta(before, after, "dead_lettered"),
        p50_ms=p50,
        p99_ms=p99,
        latency_samples=samples,
        sink_rows=_counter_delta(before, after, ROWS, {}, workers=(SINK,)),
        lag=dict(after.lag),
        rss_mb={name: None if mb is None else round(mb, 1) for name, mb in after.rss_mb.items()},
        cpu=_cpu(before, after),
        errors=errors,
    )


def _cpu(before: Reading, after: Reading) -> dict[str, float | None]:
    seconds = after.at_s - before.at_s
    found: dict[str, float | None] = {}
    for name, used in after.cpu_s.items():
        then = before.cpu_s.get(name)
        if used is None or then is None or used < then or seconds <= 0:
            found[name] = None  # unknown, or a restarted process (a new pid)
        else:
            found[name] = round((used - then) / seconds, 2)
    return found


def _topic_delta(before: Reading, after: Reading, stage: str) -> int:
    return max(after.topics.get(stage, 0) - before.topics.get(stage, 0), 0)


def _counter_delta(
    before: Reading,
    after: Reading,
    sample: str,
    labels: dict[str, str],
    workers: tuple[str, ...] | None = None,
) -> int:
    """How much ``sample`` grew, summed over the workers; a worker without an earlier scrape
    (or restarted: its counter went down) counts from zero."""
    grown = 0.0
    for worker, text in after.metrics.items():
        if workers is not None and worker not in workers:
            continue
        now = total(text, sample, **labels)
        then = total(before.metrics[worker], sample, **labels) if worker in before.metrics else 0
        grown += now - then if now >= then else now
    return int(grown)


def _latency(before: str | None, after: str | None) -> tuple[float | None, float | None, int]:
    """(p50 ms, p99 ms, observations) of what the histogram observed between two scrapes."""
    if after is None:
        return None, None, 0
    now = histogram(after, LATENCY)
    then = histogram(before, LATENCY) if before is not None else {}
    delta = [(le, count - then.get(le, 0.0)) for le, count in now.items()]
    if any(count < 0 for _, count in delta):  # the worker restarted: all it has is new
        delta = list(now.items())
    observed = int(max((count for _, count in delta), default=0.0))
    p50, p99 = histogram_quantile(0.5, delta), histogram_quantile(0.99, delta)
    return (
        None if p50 is None else round(p50 * 1000, 1),
        None if p99 is None else round(p99 * 1000, 1),
        observed,
    )
