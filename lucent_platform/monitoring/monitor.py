"""The stream monitor's core: observations in, alert transitions out (issue #10 item 2).

``Monitor`` is fed what the worker reads (``records.Message`` from the normalized topics,
``records.Failure`` from ``market.deadletter``) and asked, on its own clock, to ``evaluate``:
it answers with the alerts that opened or resolved since the last time, each exactly once.
One alert per (kind, source) is open at a time; its id is ``message_id_for`` its kind, source
and opening time, so the opening and the resolution share it and a replay repeats it.

Freshness (``stale_source``, ``missing_source``) is judged only once the worker says it has
caught up (``caught_up``): while a restarted monitor reads a backlog, the newest record it has
seen is old, and the wall clock would call every source stale. Record times teach the
intervals during the catch-up as they do live.

Pure: no I/O, no clock of its own (``now_ms`` is passed in, UTC ms).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec

from lucent_platform.envelope import message_id_for
from lucent_platform.messages.monitoring import AlertKind, MonitoringAlert, Severity
from lucent_platform.monitoring.config import MonitorConfig
from lucent_platform.monitoring.records import Failure, Message
from lucent_platform.quality.venues import venue_deviations

BUCKET_MS = 1_000
Key = tuple[str, str]  # (kind, source)


@dataclass
class _Bucket:
    start_ms: int
    ok: int = 0
    dead: Counter[str] = field(default_factory=Counter)


@dataclass
class _Source:
    last_ms: int | None = None  # latest periodic message; None: freshness not judged
    interval_ms: float | None = None  # learned: moving average of the gaps
    buckets: deque[_Bucket] = field(default_factory=deque)


@dataclass(frozen=True)
class Figures:
    """A snapshot for the metrics endpoint, taken at an evaluation (the endpoint reads it
    from its own thread, so it gets a value, never the monitor's changing state):
    ``open_alerts`` (kind, source) → 1, ``failure_rates`` (source, reason) → rate over the
    window (reason ``rate``: all reasons), ``newest_ms`` source → its newest periodic
    record's receive time, and whether the monitor has caught up."""

    open_alerts: dict[Key, int] = field(default_factory=dict)
    failure_rates: dict[Key, float] = field(default_factory=dict)
    newest_ms: dict[str, int] = field(default_factory=dict)
    caught_up: bool = True


class Monitor:
    """Per-source freshness and failure rates, per-pair venue prices, and the open alerts."""

    def __init__(self, config: MonitorConfig, *, started_ms: int, caught_up: bool = True) -> None:
        self.config = config
        self.started_ms = started_ms
        self.caught_up = caught_up  # False: reading a backlog, freshness not judged yet
        self._sources: dict[str, _Source] = {}
        self._prices: dict[str, dict[str, tuple[float, int]]] = {}  # pair → venue → (p, ms)
        self._open: dict[Key, MonitoringAlert] = {}

    # --- observations --------------------------------------------------------------------
    def message(self, m: Message) -> None:
        state = self._sources.get(m.source)
        if state is None:
            state = self._sources[m.source] = _Source()
        self._bucket(state, m.received_ms).ok += 1
        if m.pair is not None and m.price is not None and m.price > 0:
            self._prices.setdefault(m.pair, {})[m.source] = (m.price, m.received_ms)
        if not m.periodic:
            return
        if state.last_ms is None:
            state.last_ms = m.received_ms
        else:
            gap = m.received_ms - state.last_ms
            # an outage's gap is no interval: learning it would make the source look slow
            # (the first gap is learned whatever it is: nothing says yet what is normal)
            first = state.interval_ms is None
            if gap > 0 and (first or gap <= self._stale_after(m.source, state)):
                w = self.config.interval_weight
                state.interval_ms = (
                    gap if state.interval_ms is None else (1 - w) * state.interval_ms + w * gap
                )
            state.last_ms = max(state.last_ms, m.received_ms)

    def failure(self, f: Failure) -> None:
        state = self._sources.get(f.source)
        if state is None:  # known only by its failures: no freshness yet
            state = self._sources[f.source] = _Source()
        self._bucket(state, f.at_ms).dead[f.reason] += 1

    def restore(self, alerts: Iterable[MonitoringAlert]) -> None:
        """Take over alerts still open (read back from the alerts topic after a restart), so
        they resolve once instead of opening again."""
        for alert in alerts:
            if alert.is_open:
                self._open[(alert.kind, alert.source)] = alert

    # --- what is open, and the figures ---------------------------------------------------
    @property
    def open_alerts(self) -> list[MonitoringAlert]:
        return sorted(self._open.values(), key=lambda a: (a.opened_at_ms, a.alert_id))

    def figures(self, now_ms: int) -> Figures:
        """What the metrics endpoint shows (see ``Figures``)."""
        newest = {s: st.last_ms for s, st in sorted(self._sources.items()) if st.last_ms}
        rates = {(source, reason): rate
                 for source, by_reason in self.failure_rates(now_ms).items()
                 for reason, rate in by_reason.items()}  # fmt: skip
        return Figures({key: 1 for key in sorted(self._open)}, rates, newest, self.caught_up)

    def failure_rates(self, now_ms: int) -> dict[str, dict[str, float]]:
        """Per source: ``rate`` (all reasons) and one rate per reason, over the window."""
        out = {}
        for source, state in sorted(self._sources.items()):
            ok, dead = self._window(state, now_ms)
            total = ok + sum(dead.values())
            if total:
                rates = {reason: n / total for reason, n in sorted(dead.items())}
                out[source] = {"rate": sum(dead.values()) / total, **rates}
        return out

    # --- evaluation ----------------------------------------------------------------------
    def evaluate(self, now_ms: int) -> list[MonitoringAlert]:
        """The alerts opened or resolved at ``now_ms``, openings and resolutions in one list."""
        changes: list[MonitoringAlert] = []
        for source in sorted(set(self._sources) | set(self.config.sources)):
            if self.caught_up:
                self._freshness(source, now_ms, changes)
            self._failures(source, now_ms, changes)
        for pair in sorted(self._prices):
            self._deviation(pair, now_ms, changes)
        return changes

    def _freshness(self, source: str, now: int, changes: list[MonitoringAlert]) -> None:
        state = self._sources.get(source)
        last = None if state is None else state.last_ms
        configured = source in self.config.sources
        if last is None and not configured:
            return  # never sent a periodic message and nobody expects it to
        silence = now - (self.started_ms if last is None else last)
        missing = float(self.config.missing_after_ms)
        if state is not None and last is not None:
            # a slow source is missing only well after it went stale
            missing = max(missing, 2 * self._stale_after(source, state))
        if silence >= missing:
            detail = (
                f"no message since the monitor started {silence / 1000:.1f} s ago"
                if last is None
                else f"silent for {silence / 1000:.1f} s"
            )
            self._opens(changes, "missing_source", source, "critical", detail, now,
                        {"silence_ms": silence, "missing_after_ms": missing})  # fmt: skip
        elif silence < missing / 2:
            self._resolves(changes, "missing_source", source, now)
        if state is None or last is None:
            return
        expected = self._expected(source, state)
        if expected is None:
            return  # one message: no interval to judge it by yet (missing_source still does)
        threshold = self._stale_after(source, state)
        if silence > threshold:
            detail = (
                f"no message for {silence / 1000:.1f} s (expected every {expected / 1000:.1f} s)"
            )
            figures = {"silence_ms": silence, "threshold_ms": threshold,
                       "expected_interval_ms": expected}  # fmt: skip
            self._opens(changes, "stale_source", source, "warning", detail, now, figures)
        elif silence < threshold / 2:
            self._resolves(changes, "stale_source", source, now)

    def _failures(self, source: str, now: int, changes: list[MonitoringAlert]) -> None:
        state = self._sources.get(source)
        if state is None:
            return
        ok, dead = self._window(state, now)
        failed = sum(dead.values())
        total = ok + failed
        rate = failed / total if total else 0.0
        c = self.config
        if total >= c.failure_min_messages and rate >= c.failure_rate_open:
            top, top_n = dead.most_common(1)[0]
            window_s = c.failure_window_ms / 1000
            detail = (f"{failed} of {total} messages dead-lettered in {window_s:.0f} s "
                      f"({rate:.0%}), mostly {top} ({top_n})")  # fmt: skip
            figures = {"rate": rate, "dead_letters": failed, "messages": total}
            figures.update({f"rate.{r}": n / total for r, n in dead.items()})
            self._opens(changes, "failure_rate", source, "warning", detail, now, figures)
        elif total >= c.failure_min_messages and rate < c.failure_rate_close:
            self._resolves(changes, "failure_rate", source, now, {"rate": rate, "messages": total})

    def _deviation(self, pair: str, now: int, changes: list[MonitoringAlert]) -> None:
        c = self.config
        venues = self._prices[pair]
        fresh = {v: p for v, (p, ms) in venues.items() if now - ms <= c.deviation_stale_ms}
        found = venue_deviations(fresh, min_venues=c.deviation_min_venues)
        if found is None:  # too few venues to judge: an open alert waits for them
            return
        median, bps = found
        venue = max(sorted(bps), key=bps.__getitem__)
        worst = bps[venue]
        figures = {"deviation_bps": worst, "median": median, "price": fresh[venue],
                   "venues": len(fresh)}  # fmt: skip
        if worst >= c.deviation_open_bps:
            detail = (f"{venue} at {fresh[venue]:g} is {worst:.0f} bps from the median "
                      f"{median:g} of {len(fresh)} venues")  # fmt: skip
            self._opens(changes, "price_deviation", pair, "warning", detail, now, figures)
        elif worst <= c.deviation_close_bps:
            self._resolves(changes, "price_deviation", pair, now, figures)

    # --- alert lifecycle -----------------------------------------------------------------
    def _opens(
        self,
        changes: list[MonitoringAlert],
        kind: AlertKind,
        source: str,
        severity: Severity,
        detail: str,
        now: int,
        figures: dict[str, float],
    ) -> None:
        if (kind, source) in self._open:
            return
        alert = MonitoringAlert(
            alert_id=message_id_for("monitoring-alert", kind, source, now),
            kind=kind, severity=severity, source=source, detail=detail,
            opened_at_ms=now, figures={k: float(v) for k, v in figures.items()},
        )  # fmt: skip
        self._open[(kind, source)] = alert
        changes.append(alert)

    def _resolves(
        self,
        changes: list[MonitoringAlert],
        kind: str,
        source: str,
        now: int,
        figures: dict[str, float] | None = None,
    ) -> None:
        alert = self._open.pop((kind, source), None)
        if alert is None:
            return
        resolved = msgspec.structs.replace(alert, resolved_at_ms=now)
        if figures is not None:
            resolved = msgspec.structs.replace(
                resolved, figures={**(alert.figures or {}),
                                   **{f"resolved.{k}": float(v) for k, v in figures.items()}},
            )  # fmt: skip
        changes.append(resolved)

    # --- internals -----------------------------------------------------------------------
    def _expected(self, source: str, state: _Source) -> float | None:
        configured = self.config.expected_interval_ms.get(source)
        return float(configured) if configured is not None else state.interval_ms

    def _stale_after(self, source: str, state: _Source) -> float:
        expected = self._expected(source, state)
        floor = float(self.config.stale_min_ms)
        return floor if expected is None else max(floor, self.config.stale_factor * expected)

    def _bucket(self, state: _Source, at_ms: int) -> _Bucket:
        start = at_ms - at_ms % BUCKET_MS
        buckets = state.buckets
        if buckets and buckets[-1].start_ms == start:
            return buckets[-1]
        if buckets and buckets[-1].start_ms > start:  # out of order: the nearest newer one
            for bucket in reversed(buckets):
                if bucket.start_ms <= start:
                    return bucket
            return buckets[0]
        buckets.append(_Bucket(start))
        return buckets[-1]

    def _window(self, state: _Source, now: int) -> tuple[int, Counter[str]]:
        buckets = state.buckets
        cutoff = now - self.config.failure_window_ms
        while buckets and buckets[0].start_ms + BUCKET_MS <= cutoff:
            buckets.popleft()
        ok, dead = 0, Counter[str]()
        for bucket in buckets:
            ok += bucket.ok
            dead.update(bucket.dead)
        return ok, dead
