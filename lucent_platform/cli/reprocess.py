"""``lucent reprocess``: rewind a consumer group to a time so its worker recomputes from there."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import click

from lucent_platform.cli.main import settings_from
from lucent_platform.stack.endpoints import resolve_kafka

_RELATIVE = re.compile(r"^(\d+)\s*([smhd])$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_time(text: str, now_ms: int | None = None) -> int:
    """``2026-11-28T10:00:00Z``, epoch milliseconds, or an age such as ``15m``/``2h``/``1d``."""
    now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    text = text.strip()
    if match := _RELATIVE.match(text):
        return now - int(match.group(1)) * _UNIT_MS[match.group(2)]
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a time: use ISO-8601 (2026-11-28T10:00:00Z), epoch ms, or 15m/2h/1d"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@click.command()
@click.option("--group", required=True, help="The consumer group, e.g. lucent-processor.")
@click.option("--since", required=True, help="ISO-8601 time, epoch ms, or an age (15m, 2h, 1d).")
@click.option("--dry-run", is_flag=True, help="Show the offsets it would move; change nothing.")
@click.pass_context
def reprocess(ctx: click.Context, group: str, since: str, dry_run: bool) -> None:
    """Rewind GROUP's committed offsets to the first records at or after SINCE.

    Stop the group's workers first; when they start again they recompute everything from
    SINCE (the design record's data replay). Offsets are found with offsets_for_times and
    checked by reading; where a broker answers wrongly (the local one does), a search over the
    partition's timestamps finds them instead.
    """
    from lucent_platform.adapters import kafka
    from lucent_platform.adapters.kafka_time import apply_rewind, plan_rewind

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


COMMANDS = [reprocess]
