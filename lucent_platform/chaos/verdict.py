"""The soak's verdict over its rows: which of the load promises held. Pure.

- **rate**: the raw topics took at least ``RATE_SHARE`` of the wanted rate over the run after
  its first row (a soak that never reached its load proves nothing about that load).
- **memory flat**: every worker's resident memory grew less than ``flat_mb_per_min`` MiB per
  minute after its warm-up (least-squares slope). The warm-up is the first half of the run, or
  ``warm_up_min`` when that is longer: the processor's de-duplication windows fill for two
  generations of ``dedup.ttl_ms`` (20 minutes by default) before they start forgetting, so
  its memory is bounded only from then on. A run whose warm-up leaves fewer than two rows
  leaves memory unjudged. Services (broker, NATS, ClickHouse) are reported, not judged.
- **lag bounded**: no consumer's lag trends upward over the last third (its slope there is below
  ``lag_growth`` × the records the run feeds in per minute: a consumer that keeps up wanders
  around a level, one that does not climbs by its shortfall every minute), and every consumer
  caught up (lag 0) once the feed stopped, within the drain time.
- **accounting**: every raw record is on a normalized topic, dead-lettered, retracted or a
  duplicate the processor counted and dropped, once the processor has read everything.
- **no errors**: no commit, consume, insert or publish failure, no record that broke a stage,
  and every worker still running at each row.

A promise with too few rows to judge (a run shorter than a few intervals) is ``None``:
reported as not judged, failing nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from lucent_platform.chaos.minutes import Minute
from lucent_platform.chaos.readings import Reading

RATE_SHARE = 0.95
FLAT_MB_PER_MIN = 1.0
LAG_GROWTH = 0.01
SERVICES = ("kafka", "nats", "clickhouse")
PROCESSOR = "processor"


@dataclass(frozen=True)
class Promise:
    name: str
    held: bool | None  # None: not judged (too few rows)
    detail: str


@dataclass(frozen=True)
class Accounting:
    """Every raw record's fate, from the final reading (after the drain)."""

    raw: int  # records on the raw topics
    consumed: int  # the processor's records in
    normalized: int  # records on the normalized topics
    dead_lettered: int  # the processor's dead letters
    retracted: int  # records on the retractions topic
    duplicates: int  # dropped by the processor as duplicates

    @property
    def unaccounted(self) -> int:
        """Raw records with no fate (positive: lost or unread; negative: written twice)."""
        return self.raw - self.normalized - self.dead_lettered - self.retracted - self.duplicates

    def as_dict(self) -> dict[str, int]:
        return {**asdict(self), "unaccounted": self.unaccounted}


@dataclass(frozen=True)
class Drain:
    """After the feed stopped: how long until every consumer had read everything."""

    seconds: float
    drained: bool
    lag_left: dict[str, int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    promises: tuple[Promise, ...]
    memory_slope: dict[str, float | None]  # process → MiB/min after the warm-up
    max_lag: dict[str, int]  # worker → the most its consumer was behind at a row's end
    p99_ms: list[float | None]  # per row

    @property
    def passed(self) -> bool:
        return all(p.held is not False for p in self.promises)

    def as_dict(self) -> dict[str, object]:
        return {
            "passed": self.passed,
            "promises": [asdict(p) for p in self.promises],
            "memory_slope_mb_per_min": self.memory_slope,
            "max_lag": self.max_lag,
            "p99_ms": self.p99_ms,
        }


def accounting(final: Reading) -> Accounting:
    """The fates of the raw records, from a reading taken once the processor drained."""
    from lucent_platform.status.metrics_text import total

    text = final.metrics.get(PROCESSOR, "")
    return Accounting(
        raw=final.topics.get("ingested", 0),
        consumed=int(total(text, "lucent_messages_in_total")),
        normalized=final.topics.get("normalized", 0),
        dead_lettered=int(total(text, "lucent_messages_dead_lettered_total")),
        retracted=final.topics.get("retracted", 0),
        duplicates=int(total(text, "lucent_stage_events_total", event="duplicates")),
    )


def slope(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of ``(x, y)`` points; ``None`` under two distinct x."""
    if len({x for x, _ in points}) < 2:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def judge(
    rows: Sequence[Minute],
    books: Accounting,
    drain: Drain,
    *,
    rate: float,
    flat_mb_per_min: float = FLAT_MB_PER_MIN,
    lag_growth: float = LAG_GROWTH,
    warm_up_min: float = 0.0,
) -> Verdict:
    judged = _after_warm_up(rows, warm_up_min)
    slopes = _memory_slopes(judged)
    max_lag = _max_lag(rows)
    promises = (
        _rate(rows, rate),
        _memory(slopes, flat_mb_per_min, judged),
        _lag(rows, drain, rate * 60 * lag_growth, max_lag),
        _accounting(books),
        _errors(rows),
    )
    return Verdict(promises, slopes, max_lag, [row.p99_ms for row in rows])


def _rate(rows: Sequence[Minute], rate: float) -> Promise:
    rows = _steady(rows)
    seconds = sum(row.seconds for row in rows)
    if not seconds:
        return Promise("rate", None, "no rows")
    reached = sum(row.msgs_in for row in rows) / seconds
    held = reached >= RATE_SHARE * rate
    return Promise("rate", held, f"{reached:,.0f} msg/s into the raw topics of {rate:,.0f} wanted")


def _tail(rows: Sequence[Minute], share: float) -> list[Minute]:
    """The rows of the run's last ``share`` (by time), at least two when there are two."""
    if not rows:
        return []
    start = rows[-1].at_min * (1 - share)
    tail = [row for row in rows if row.at_min >= start]
    return tail if len(tail) >= 2 else list(rows[-2:])


def _after_warm_up(rows: Sequence[Minute], warm_up_min: float) -> list[Minute]:
    """The rows memory is judged over: the second half, or after ``warm_up_min`` when that
    ends later (possibly none)."""
    half = _tail(rows, 0.5)
    return [row for row in half if row.at_min > warm_up_min]


def _memory_slopes(rows: Sequence[Minute]) -> dict[str, float | None]:
    names = sorted({name for row in rows for name in row.rss_mb})
    slopes: dict[str, float | None] = {}
    for name in names:
        points = [(r.at_min, mb) for r in rows if (mb := r.rss_mb.get(name)) is not None]
        found = slope(points)
        slopes[name] = None if found is None else round(found, 3)
    return slopes


def _memory(slopes: Mapping[str, float | None], limit: float, rows: Sequence[Minute]) -> Promise:
    judged = {name: s for name, s in slopes.items() if name not in SERVICES and s is not None}
    if not judged:
        return Promise("memory flat", None, "too few rows after the warm-up to fit a slope")
    span = f"minutes {rows[0].at_min:g}-{rows[-1].at_min:g}"
    growing = {name: s for name, s in judged.items() if s >= limit}
    if growing:
        listed = ", ".join(f"{name} +{s:.2f}" for name, s in sorted(growing.items()))
        return Promise("memory flat", False, f"growing over {span} (MiB/min, limit {limit:g}): "
                       f"{listed}")  # fmt: skip
    top = max(judged, key=lambda name: judged[name])
    return Promise("memory flat", True, f"every worker under {limit:g} MiB/min over {span} "
                   f"(steepest {top} {judged[top]:+.2f})")  # fmt: skip


def _max_lag(rows: Sequence[Minute]) -> dict[str, int]:
    found: dict[str, int] = {}
    for row in rows:
        for name, lag in row.lag.items():
            if lag is not None:
                found[name] = max(found.get(name, 0), lag)
    return found


def _lag(rows: Sequence[Minute], drain: Drain, limit: float, max_lag: Mapping[str, int]) -> Promise:
    last = _tail(rows, 1 / 3)
    names = sorted({name for row in last for name, lag in row.lag.items() if lag is not None})
    slopes = {
        name: slope([(r.at_min, float(lag)) for r in last if (lag := r.lag.get(name)) is not None])
        for name in names
    }
    growing = {name: s for name, s in slopes.items() if s is not None and s > limit}
    problems = [f"{name} +{s:,.0f}/min" for name, s in sorted(growing.items())]
    if not drain.drained:
        left = {name: lag for name, lag in drain.lag_left.items() if lag}
        problems.append(f"not caught up {drain.seconds:.0f} s after the feed stopped: {left}")
    if problems:
        return Promise("lag bounded", False, "; ".join(problems))
    if all(s is None for s in slopes.values()) and len(rows) < 2:
        return Promise("lag bounded", None, f"too few rows; drained in {drain.seconds:.0f} s")
    worst = max(max_lag.items(), key=lambda kv: kv[1], default=("-", 0))
    return Promise("lag bounded", True, f"no lag growing over the last third (limit "
                   f"{limit:,.0f}/min); max {worst[0]} {worst[1]:,}; drained in "
                   f"{drain.seconds:.0f} s")  # fmt: skip


def _accounting(books: Accounting) -> Promise:
    detail = (
        f"raw {books.raw:,} = normalized {books.normalized:,} + dead-lettered "
        f"{books.dead_lettered:,} + retracted {books.retracted:,} + duplicates "
        f"{books.duplicates:,}"
    )
    if books.unaccounted or books.consumed != books.raw:
        return Promise("accounting", False, f"{detail} leaves {books.unaccounted:+,} "
                       f"(processor read {books.consumed:,})")  # fmt: skip
    return Promise("accounting", True, detail)


def _steady(rows: Sequence[Minute]) -> Sequence[Minute]:
    """The rows after the first, which holds the start-up (groups joining, the feed's first
    batches), when there are more."""
    return rows[1:] if len(rows) > 1 else rows


def _errors(rows: Sequence[Minute]) -> Promise:
    summed: dict[str, int] = {}
    for row in rows:
        for name, n in row.errors.items():
            summed[name] = summed.get(name, 0) + n
    found = {name: n for name, n in summed.items() if n}
    if found:
        return Promise("no errors", False, ", ".join(f"{k} {v}" for k, v in sorted(found.items())))
    return Promise("no errors", True, "no failures counted, every worker running")
