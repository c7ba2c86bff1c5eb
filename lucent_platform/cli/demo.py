"""``lucent demo``: the whole platform headless for N seconds, then what every stage did."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import click

from lucent_platform.cli.main import settings_from
from lucent_platform.cli.params import Finite
from lucent_platform.cli.stack import feed_options, feed_settings

if TYPE_CHECKING:
    from lucent_platform.config import Settings
    from lucent_platform.stage_report import StageReport


@click.command()
@feed_options
@click.option(
    "--seconds",
    type=Finite(min=0, min_open=True),
    default=30.0,
    show_default=True,
    help="How long to run.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.pass_context
def demo(
    ctx: click.Context,
    seconds: float,
    as_json: bool,
    feed: str | None,
    exchanges: str | None,
    pairs: str | None,
) -> None:
    """Run every service and worker headless for SECONDS, then summarise each stage.

    Counts are read from the topics each stage writes; latency is receive → normalized (for a
    replay, whose receive times are the recording's: feed write → normalized).
    Exits 1 when a stage that should have produced output did not. Data stays under
    LUCENT_DATA_DIR for later commands.
    """
    from lucent_platform.adapters import kafka
    from lucent_platform.stack.local import LocalStack
    from lucent_platform.stage_report import (
        StageReport,
        count_stages,
        dead_letter_reasons,
        end_to_end_latency,
        example_values,
        percentiles,
    )
    from lucent_platform.topics import DEADLETTER, Kind, normalized
    from streaming.registry import EXPECTED_STAGES, startable

    settings, worker_env = feed_settings(settings_from(ctx), feed, exchanges, pairs)
    replaying = settings.feed.startswith("replay:")
    workers = startable(settings)
    stack = LocalStack(settings, with_dagster=False, workers=workers, worker_env=worker_env)
    try:
        endpoints = stack.start()
        if not as_json:
            click.echo(f"running {len(workers)} worker(s) for {seconds:g}s …")
        stack.supervise(seconds)
        stack.stop_workers()  # let every worker flush, so the counts are final
        bootstrap = endpoints.kafka_bootstrap_servers
        infos = kafka.describe_topics(settings, bootstrap)
        stages = count_stages(infos)
        filled = {info.topic for info in infos if info.messages}
        samples: list[float] = []
        examples: dict[str, list[dict[str, object]]] = {}
        # A replay's receive times are the recording's: time it from the feed's raw records.
        ingested = _ingest_times(settings, bootstrap, filled) if replaying else None
        for topic in (normalized(kind) for kind in Kind):
            if topic in filled:
                records = kafka.read_topic(settings, bootstrap, topic, limit=20_000)
                stamped = ((r.timestamp_ms, r.value) for r in records)
                samples += end_to_end_latency(stamped, ingested)
                examples[topic] = example_values([r.value for r in records[-2:]])
        if DEADLETTER in filled:
            letters = kafka.read_topic(settings, bootstrap, DEADLETTER, limit=20_000)
            examples[DEADLETTER] = dead_letter_reasons([r.value for r in letters])
        if "clickhouse-sink" in workers:
            rows = _stored(settings, endpoints.clickhouse_url)
            stages["stored"] = sum(rows.values())
            examples["clickhouse"] = [{"table": t, "rows": n} for t, n in rows.items() if n]
    finally:
        stack.stop()
    expected = sorted({stage for name in workers for stage in EXPECTED_STAGES.get(name, ())})
    report = StageReport(stages, percentiles(samples), expected=expected, examples=examples,
                         latency_from="ingested" if replaying else "received")  # fmt: skip
    if as_json:
        click.echo(json.dumps(report.as_json()))
    else:
        click.echo(_text(report))
    if report.silent_stages:
        if not as_json:
            click.echo(f"no output from: {', '.join(report.silent_stages)}", err=True)
        ctx.exit(1)


def _stored(settings: Settings, url: str) -> dict[str, int]:
    """Rows per analytics table; empty if ClickHouse cannot tell (the sink never started)."""
    from lucent_platform.adapters.clickhouse import connect, credentials
    from lucent_platform.stage_report import stored_rows

    try:
        client = connect(url, **credentials(settings))
        try:
            return stored_rows(client, settings.clickhouse_database)
        finally:
            client.close()
    except Exception as exc:  # a report, not a failure: the empty stage says enough
        click.echo(f"ClickHouse row counts unavailable: {exc}", err=True)
        return {}


def _ingest_times(settings: Settings, bootstrap: str, filled: set[str]) -> dict[str, int]:
    """Message id → when the feed wrote it, from every raw topic that has records."""
    from lucent_platform.adapters import kafka
    from lucent_platform.stage_report import ingest_times
    from lucent_platform.topics import Kind, raw_pattern

    raw = [re.compile(raw_pattern(kind)) for kind in Kind]
    times: dict[str, int] = {}
    for topic in sorted(filled):
        if any(p.fullmatch(topic) for p in raw):
            records = kafka.read_topic(settings, bootstrap, topic, limit=20_000)
            times.update(ingest_times((r.timestamp_ms, r.value) for r in records))
    return times


def _text(report: StageReport) -> str:
    lines = ["stage                      messages"]
    lines += [f"  {stage:<24} {count:>8}" for stage, count in report.stages.items()]
    lat = report.latency_ms
    lines.append(
        f"latency {'feed write' if report.latency_from == 'ingested' else 'receive'}→normalized"
        f"  p50 {lat['p50']} ms  p99 {lat['p99']} ms  "
        f"({lat['samples']} samples)"
    )
    for topic, rows in report.examples.items():
        lines.append(f"{topic}: {json.dumps(rows)[:300]}")
    if not report.expected:
        lines.append("(no streaming workers are registered yet: nothing is expected to flow)")
    return "\n".join(lines)


COMMANDS = [demo]
