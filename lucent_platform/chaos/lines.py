"""The soak's text: one line per row as it is read, then the verdict."""

from __future__ import annotations

from collections.abc import Mapping

from lucent_platform.chaos.minutes import Minute
from lucent_platform.chaos.soak import SoakReport

MARKS = {True: "PASS", False: "FAIL", None: "n/a "}


def row_line(row: Minute, total_min: float) -> str:
    """``[ 3.0/30 min] in 300,120 (5,002/s) out … | lag … | RSS MiB …``."""
    latency = f"p50/p99 {_ms(row.p50_ms)}/{_ms(row.p99_ms)} ms"
    errors = sum(row.errors.values())
    return (
        f"[{row.at_min:5.1f}/{total_min:g} min] in {row.msgs_in:,} ({row.in_rate:,.0f}/s) "
        f"out {row.msgs_out:,} (normalized {row.normalized:,} + dead {row.dead_lettered:,}) "
        f"| {latency} | sink rows {row.sink_rows:,} | errors {errors}"
        f" | lag {_pairs(row.lag, '{:,}')} | RSS MiB {_pairs(row.rss_mb, '{:.0f}')}"
        f" | CPU cores {_cpu(row.cpu)}"
    )


def _cpu(cpu: Mapping[str, float | None]) -> str:
    """The total, then the three busiest processes."""
    known = {name: c for name, c in cpu.items() if c is not None}
    top = sorted(known.items(), key=lambda kv: kv[1], reverse=True)[:3]
    return f"{sum(known.values()):.2f} ({_pairs(dict(top), '{:.2f}')})"


def verdict_text(report: SoakReport) -> str:
    verdict = report.verdict
    if verdict is None:
        return "no verdict: the soak did not finish"
    lines = [f"verdict: {'PASSED' if verdict.passed else 'FAILED'}"
             + (" (interrupted)" if report.interrupted else "")]  # fmt: skip
    lines += [f"  {MARKS[p.held]} {p.name}: {p.detail}" for p in verdict.promises]
    slopes = verdict.memory_slope
    lines.append(f"memory slope after the warm-up (MiB/min): {_pairs(slopes, '{:+.2f}')}")
    first = report.rows[0].rss_mb if report.rows else {}
    last = report.rows[-1].rss_mb if report.rows else {}
    spans = {name: f"{_ms(first.get(name))}→{_ms(last.get(name))}" for name in last}
    lines.append(f"RSS first→last row (MiB): {_pairs(spans, '{}')}")
    lines.append(f"max lag: {_pairs(verdict.max_lag, '{:,}')}")
    lines.append(f"CPU cores, mean over the rows: {_pairs(_mean_cpu(report), '{:.2f}')}")
    p99 = [p for p in verdict.p99_ms if p is not None]
    per_row = " ".join(_ms(p) for p in verdict.p99_ms)
    span = f" (range {min(p99):g}–{max(p99):g})" if p99 else ""
    lines.append(f"processor p99 per row (ms): {per_row}{span}")
    if report.books is not None:
        books = report.books.as_dict()
        lines.append("accounting: " + ", ".join(f"{k} {v:,}" for k, v in books.items()))
    return "\n".join(lines)


def _pairs(values: Mapping[str, object], fmt: str) -> str:
    return " ".join(f"{name} {'-' if v is None else fmt.format(v)}" for name, v in values.items())


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _mean_cpu(report: SoakReport) -> dict[str, float | None]:
    """Per process (in start order), the cores it kept busy, averaged over the rows."""
    names = list(report.rows[-1].cpu) if report.rows else []
    means: dict[str, float | None] = {}
    for name in names:
        seen = [c for row in report.rows if (c := row.cpu.get(name)) is not None]
        means[name] = sum(seen) / len(seen) if seen else None
    return means
