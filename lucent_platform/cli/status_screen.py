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
    table.add_column("rate msg/s", justify="right")
    table.add_column("lag", justify="right")
    table.add_column("p50 ms", justify="right")
    table.add_column("p99 ms", justify="right")
    table.add_column("group")
    for w in snapshot.workers:
        state = w.state if w.exit_code is None else f"{w.state} (exit {w.exit_code})"
        table.add_row(
            w.name,
            Text(state, style=_STATE_STYLE[w.state]),
            str(w.pid) if w.pid else DASH,
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
