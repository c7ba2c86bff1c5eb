"""``lucent reprocess``: rewind a consumer group to a time so its worker recomputes from there,
or, with ``--until``, recompute one time range now and leave the group where it was."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from lucent_platform.cli.main import settings_from
from lucent_platform.cli.params import group_id
from lucent_platform.cli.times import parse_time
from lucent_platform.stack.endpoints import resolve_kafka

if TYPE_CHECKING:
    from lucent_platform.adapters.kafka_time import Span


@click.command()
@click.option(
    "--group", required=True, callback=group_id, help="The consumer group, e.g. lucent-processor."
)
@click.option("--since", required=True, help="ISO-8601 time, epoch ms, or an age (15m, 2h, 1d).")
@click.option(
    "--until",
    help="Recompute only records before this time: the group's worker runs over the range "
    "now, then the group's offsets are put back.",
)
@click.option("--dry-run", is_flag=True, help="Show the offsets it would move; change nothing.")
@click.pass_context
def reprocess(ctx: click.Context, group: str, since: str, until: str | None, dry_run: bool) -> None:
    """Rewind GROUP's committed offsets to the first records at or after SINCE.

    Stop the group's workers first; when they start again they recompute everything from
    SINCE (the design record's data replay). Offsets are found with offsets_for_times and
    checked by reading; where a broker answers wrongly (the local one does), a search over the
    partition's timestamps finds them instead.

    With --until, only [SINCE, UNTIL) is recomputed, and at once: the group's own worker runs
    as the group from SINCE's offsets to UNTIL's (never past what the group had processed),
    then the group's offsets are put back, so its workers continue where they stopped.
    """
    from lucent_platform.adapters import kafka
    from lucent_platform.adapters.kafka_time import apply_rewind, plan_rewind

    if until is not None:
        _reprocess_range(ctx, group, parse_time(since), parse_time(until), dry_run)
        return
    settings = settings_from(ctx)
    bootstrap = resolve_kafka(settings)
    timestamp_ms = parse_time(since)
    admin = kafka.admin(settings, bootstrap)
    probe = kafka.consumer(settings, bootstrap, group_id=f"{group}-reprocess-probe")
    try:
        plan = plan_rewind(admin, probe, group, timestamp_ms)
    finally:
        probe.close()
    if not plan:
        raise click.ClickException(f"group {group!r} has no committed offsets: nothing to rewind")
    when = datetime.fromtimestamp(timestamp_ms / 1000, UTC).isoformat(timespec="milliseconds")
    click.echo(
        f"{'TOPIC':<44} {'PART':>4} {'COMMITTED':>10} {'TARGET':>10}  FOUND BY   (since {when})"
    )
    for r in plan:
        committed = "-" if r.committed is None else str(r.committed)
        click.echo(f"{r.topic:<44} {r.partition:>4} {committed:>10} {r.target:>10}  {r.method}")
    if dry_run:
        click.echo("dry run: nothing changed")
        return
    try:
        apply_rewind(admin, group, plan)
    except Exception as exc:  # the broker refuses while members are connected
        raise click.ClickException(
            f"cannot move {group!r}'s offsets ({exc}) — stop its workers first, then retry"
        ) from None
    moved = sum(1 for r in plan if r.committed != r.target)
    click.echo(f"rewound {moved} partition(s) of {group!r}; restart its workers to recompute")


def _reprocess_range(
    ctx: click.Context, group: str, since_ms: int, until_ms: int, dry_run: bool
) -> None:
    """Plan [since, until) per partition, run the group's worker over it, restore the group."""
    from lucent_platform.adapters import kafka
    from lucent_platform.adapters.kafka_time import commit_offsets, committed_offsets, plan_range
    from streaming.lifecycle import StopSignal
    from streaming.registry import BOUNDED

    run = BOUNDED.get(group)
    if run is None:
        raise click.BadParameter(
            f"--until runs the group's worker itself, and lucent knows the workers of "
            f"{', '.join(map(repr, BOUNDED))} only; --since alone rewinds any group",
            param_hint=f"--group {group!r}",
        )
    if until_ms <= since_ms:
        raise click.BadParameter("must be later than --since", param_hint="--until")
    settings = settings_from(ctx)
    bootstrap = resolve_kafka(settings)
    admin = kafka.admin(settings, bootstrap)
    probe = kafka.consumer(settings, bootstrap, group_id=f"{group}-reprocess-probe")
    try:
        plan = plan_range(admin, probe, group, since_ms, until_ms)
    finally:
        probe.close()
    if not plan:
        raise click.ClickException(f"group {group!r} has no committed offsets: nothing to redo")
    _show_range(plan, since_ms, until_ms)
    if dry_run:
        click.echo("dry run: nothing changed")
        return
    spans = [s for s in plan if s.committed is not None]  # none: its worker reads it anyway
    try:
        commit_offsets(admin, group, {(s.topic, s.partition): s.start for s in spans})
    except Exception as exc:  # the broker refuses while members are connected
        raise click.ClickException(
            f"cannot move {group!r}'s offsets ({exc}) — stop its workers first, then retry"
        ) from None
    ends = {(s.topic, s.partition): s.end for s in spans}
    try:
        with StopSignal().installed() as stop:  # Ctrl-C: finish the batch, commit, restore
            metrics = run(settings, bootstrap, stop, ends)
    finally:
        reached = committed_offsets(admin, group)
        before = {(s.topic, s.partition): s.committed for s in spans if s.committed is not None}
        try:  # the worker has just left the group; a broker may take a moment to see that
            commit_offsets(admin, group, before, patience_s=10.0)
        except Exception as exc:
            listing = ", ".join(f"{t}[{p}]={o}" for (t, p), o in before.items())
            raise click.ClickException(
                f"could not restore {group!r}'s offsets ({exc}); set them to {listing}"
            ) from None
    c = metrics.counts
    stages = " ".join(f"{k}={c[k]}" for k in ("in", "normalized", "dead_lettered", "duplicates"))
    click.echo(f"recomputed {c['consumed']} record(s) of {group!r}: {stages}")
    click.echo(f"restored the committed offsets of {group!r} on {len(spans)} partition(s)")
    short = sorted(tp for tp, end in ends.items() if reached.get(tp) != end)
    if short:
        raise click.ClickException(
            f"stopped before the end of the range on {len(short)} partition(s) "
            f"(first: {short[0][0]}[{short[0][1]}]): run the same command again"
        )


def _show_range(plan: list[Span], since_ms: int, until_ms: int) -> None:
    def when(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")

    click.echo(
        f"{'TOPIC':<44} {'PART':>4} {'COMMITTED':>10} {'START':>10} {'END':>10} "
        f"{'RECORDS':>8}  FOUND BY   (since {when(since_ms)} until {when(until_ms)})"
    )
    for s in plan:
        committed = "-" if s.committed is None else str(s.committed)
        click.echo(
            f"{s.topic:<44} {s.partition:>4} {committed:>10} {s.start:>10} {s.end:>10} "
            f"{s.records:>8}  {s.method}"
        )
    click.echo(f"{sum(s.records for s in plan)} record(s) in range")


COMMANDS = [reprocess]
