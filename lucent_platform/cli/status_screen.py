"""The ``lucent status`` screen: one ``Snapshot`` drawn with rich (tables for services,
workers, freshness and alerts). Rendering only: every figure comes from the snapshot."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Group
from rich.table import Table
from rich.text import Text

from lucent_platform.status.snapshot import Snapshot

DASH = "–"
_STATE_STYLE = {
    "running": "green",
    "stopped": "yellow",
    "crashed": "bold red",
    "not started": "dim",
    "unknown": "dim",
}


def render(snapshot: Snapshot) -> Group:
    taken = datetime.fromtimestamp(snapshot.taken_at_ms / 1000, UTC).strftime("%H:%M:%S UTC")
    header = Text.assemble(("lucent status", "bold"), f"  {taken}  ", snapshot.message)
    if not snapshot.running:
        return Group(header, Text("nothing to show: the stack is not running", style="yellow"))
    parts: list[Table | Text] = [header, _services(snapshot), _workers(snapshot)]
    parts.append(_freshness(snapshot))
    parts.append(_alerts(snapshot))
    parts.extend(_broker(snapshot))
    if snapshot.notes:
        parts.append(Text("\n".join(f"note: {note}" for note in snapshot.notes), style="dim"))
    return Group(*parts)


def _services(snapshot: Snapshot) -> Table:
    table = Table(title="Services", title_justify="left", expand=True)
    for column in ("service", "state", "address", "probe"):
        table.add_column(column)
    for s in snapshot.services:
        state = Text("up", style="green") if s.up else Text("DOWN", style="bold red")
        table.add_row(s.name, state, s.address or DASH, s.detail)
    return table


def _workers(snapshot: Snapshot) -> Table:
    table = Table(title="Workers", title_justify="left", expand=True)
    table.add_column("worker")
    table.add_column("state")
    table.add_column("pid", justify="right")
    table.add_column("restarts", justify="right")
    table.add_column("rate msg/s", justify="right")
    table.add_column("lag", justify="right")
    table.add_column("p50 ms", justify="right")
    table.add_column("p99 ms", justify="right")
    table.add_column("group")
    for w in snapshot.workers:
        state = w.state if w.exit_code is None else f"{w.state} (exit {w.exit_code})"
        if w.reason:  # a crashed worker: when it restarts, or why it stays down
            state = f"{w.state}: {w.reason}"
        table.add_row(
            w.name,
            Text(state, style=_STATE_STYLE[w.state]),
            str(w.pid) if w.pid else DASH,
            str(w.restarts),
            _number(w.rate, "{:.1f}"),
            _number(w.lag, "{:d}"),
            _number(w.p50_ms, "{:.1f}"),
            _number(w.p99_ms, "{:.1f}"),
            w.group or DASH,
        )
    return table


def _freshness(snapshot: Snapshot) -> Table | Text:
    if not snapshot.freshness:
        return Text("Freshness: no rows in ClickHouse yet", style="dim")
    table = Table(title="Freshness (newest event per source)", title_justify="left", expand=True)
    for column in ("table", "source", "venue", "last event (UTC)", "age s", "msgs 5 min"):
        table.add_column(column, justify="right" if column[0] in "am" else "left")
    for f in snapshot.freshness:
        last = datetime.fromtimestamp(f.last_event_ms / 1000, UTC).strftime("%H:%M:%S")
        age = Text(f"{f.age_s:.1f}", style="red" if f.age_s > 60 else "")
        table.add_row(f.table, f.source, f.venue or DASH, last, age, str(f.rows_5m))
    return table


def _alerts(snapshot: Snapshot) -> Table | Text:
    if snapshot.alerts is None:
        return Text("Alerts: not read (Kafka is down, or see the notes)", style="yellow")
    if not snapshot.alerts:
        return Text("Alerts: none open", style="green")
    table = Table(title="Open alerts", title_justify="left", expand=True)
    for column in ("since (UTC)", "severity", "alert", "detail"):
        table.add_column(column)
    for a in snapshot.alerts:
        since = datetime.fromtimestamp(a.at_ms / 1000, UTC).strftime("%H:%M:%S")
        style = "bold red" if a.severity == "critical" else "yellow"
        table.add_row(since, Text(a.severity, style=style), a.key, a.message)
    return table


def _number(value: float | int | None, pattern: str) -> str:
    return DASH if value is None else pattern.format(value)


SKEWED = 2.0
"""A topic whose largest partition holds at least this many times the mean is listed."""


def _broker(snapshot: Snapshot) -> list[Table | Text]:
    """One line for the cluster, the topics out of balance or under-replicated, every group."""
    health = snapshot.broker
    if health is None:
        return [Text("Broker: not read (Kafka is down, or see the notes)", style="yellow")]
    odd = [t for t in health.topics if t.record_skew >= SKEWED or t.under_replicated or t.offline]
    under = health.under_replicated
    line = Text.assemble(
        ("Broker: ", "bold"),
        f"{health.brokers} broker(s), {len(health.topics)} topics, "
        f"{sum(t.partitions for t in health.topics)} partitions, ",
        (f"{under} under-replicated", "bold red" if under else "green"),
        f", {len(odd)} topic(s) skewed ≥{SKEWED:g}x or short of replicas",
    )
    parts: list[Table | Text] = [line]
    if odd:
        table = Table(title="Topics out of balance", title_justify="left", expand=True)
        for column in ("topic", "partitions", "records", "skew", "leader skew", "under-repl.",
                       "offline"):  # fmt: skip
            table.add_column(column, justify="left" if column == "topic" else "right")
        for t in odd:
            figures = (t.partitions, t.records, f"{t.record_skew:.2f}", f"{t.leader_skew:.2f}",
                       t.under_replicated, t.offline)  # fmt: skip
            table.add_row(t.topic, *map(str, figures))
        parts.append(table)
    if health.groups:
        table = Table(title="Consumer groups", title_justify="left", expand=True)
        for column in ("group", "state", "members"):
            table.add_column(column, justify="right" if column == "members" else "left")
        for g in health.groups:
            style = "green" if g.state == "stable" else "dim" if g.state == "empty" else "yellow"
            table.add_row(g.group, Text(g.state, style=style), _number(g.members, "{}"))
        parts.append(table)
    return parts
