"""``lucent alerts add|list|remove``: price alert rules on the compacted ``user.alert-rules``.

A rule is one record keyed by its id (``alert_rules.Rule``); ``add`` writes it (the same id
replaces it), ``remove`` writes a tombstone, ``list`` reads the topic to its end as the alert
engine does. The running engine applies a change before the next price it processes.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import click

from lucent_platform.cli.main import settings_from
from lucent_platform.stack.endpoints import resolve_kafka

FORMATS = ("table", "json")


@click.group()
def alerts() -> None:
    """Manage price alert rules (the alert engine, `lucent worker alerts`, applies them)."""


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    from lucent_platform.analytics.queries.registry import duration_ms

    if value is None:
        return None
    try:
        return duration_ms(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@alerts.command()
@click.option("--user", "user_id", required=True, help="The user the alert is for.")
@click.option("--pair", required=True, help="Pair, e.g. ETH-USDC (eth/usdc, ETHUSDC work too).")
@click.option("--exchange", help="Only this venue's prices (default: any venue).")
@click.option("--above", type=float, help="Fire when the price crosses above this.")
@click.option("--below", type=float, help="Fire when the price crosses below this.")
@click.option("--move", type=float, help="Fire on a move of this many percent (with --within).")
@click.option("--within", callback=_duration, help="The move's period: 30s, 10m, 4h, 1d.")
@click.option("--spread", type=float, help="Fire when the cross-venue spread exceeds N bps.")
@click.option(
    "--id", "rule_id", help="The rule id (default: a new one); an existing id is replaced."
)
@click.pass_context
def add(
    ctx: click.Context,
    user_id: str,
    pair: str,
    exchange: str | None,
    above: float | None,
    below: float | None,
    move: float | None,
    within: int | None,
    spread: float | None,
    rule_id: str | None,
) -> None:
    """Add (or replace) a rule: one of --above N, --below N, --move PCT --within 10m,
    --spread BPS. Prints the rule id."""
    from lucent_platform.signals.apps.alert_rules import check_text, encode_rule, make_rule
    from lucent_platform.topics import USER_ALERT_RULES

    chosen = {k: v for k, v in
              {"above": above, "below": below, "move": move, "spread": spread}.items()
              if v is not None}  # fmt: skip
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --above, --below, --move, --spread")
    ((kind, level),) = chosen.items()
    if within is not None and kind != "move":
        raise click.UsageError("--within goes with --move only")
    rule_id = rule_id if rule_id is not None else f"r-{uuid.uuid4().hex[:12]}"
    try:
        check_text("rule id", rule_id)
        rule = make_rule(
            user_id=user_id, pair=pair, type=kind, level=level, exchange=exchange,
            window_ms=within,
        )  # fmt: skip
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    _write(ctx, USER_ALERT_RULES, rule_id, encode_rule(rule))
    click.echo(rule_id)


@alerts.command(name="list")
@click.option("--user", "user_id", help="Only this user's rules.")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="table",
              show_default=True, help="Output format.")  # fmt: skip
@click.pass_context
def list_rules(ctx: click.Context, user_id: str | None, output_format: str) -> None:
    """Every rule in force (the compacted topic read to its end), in id order."""
    from lucent_platform.signals.apps.alert_rules import describe

    rules = [(i, r) for i, r in _rules(ctx) if user_id is None or r.user_id == user_id]
    if output_format == "json":
        rows: list[dict[str, Any]] = [
            {"id": i, "userId": r.user_id, "pair": r.pair, "exchange": r.exchange,
             "type": r.type, "level": r.level, "windowMs": r.window_ms}
            for i, r in rules
        ]  # fmt: skip
        click.echo(json.dumps(rows, indent=2))
        return
    cells = [("ID", "USER", "RULE"), *((i, r.user_id, describe(r)) for i, r in rules)]
    widths = [max(len(row[c]) for row in cells) for c in range(2)]
    for row in cells:
        click.echo(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}")


@alerts.command()
@click.argument("rule_id")
@click.pass_context
def remove(ctx: click.Context, rule_id: str) -> None:
    """Delete the rule RULE_ID (a tombstone: the engine stops it at once)."""
    from lucent_platform.topics import USER_ALERT_RULES

    if rule_id not in {i for i, _ in _rules(ctx)}:
        raise click.ClickException(f"no rule {rule_id!r} (see `lucent alerts list`)")
    _write(ctx, USER_ALERT_RULES, rule_id, None)
    click.echo(f"removed {rule_id}")


def _write(ctx: click.Context, topic: str, key: str, value: bytes | None) -> None:
    from lucent_platform.adapters import kafka

    settings = settings_from(ctx)
    producer = kafka.producer(settings, resolve_kafka(settings))
    producer.produce(topic, value, key.encode())
    if producer.flush(30) != 0:
        raise click.ClickException(f"the rule was not written to {topic}: Kafka did not confirm")


def _rules(ctx: click.Context) -> list[tuple[str, Any]]:
    """(id, rule) of every valid rule, read as the engine reads them."""
    from lucent_platform.signals.apps.alert_rules import parse_rule, parse_rule_id
    from lucent_platform.signals.table import Table
    from lucent_platform.topics import USER_ALERT_RULES
    from streaming.runtime.metrics import WorkerMetrics
    from streaming.runtime.tables import TableFollower, table_reader

    settings = settings_from(ctx)
    table = Table(USER_ALERT_RULES, parse_rule, parse_rule_id)
    follower = TableFollower(
        [table], WorkerMetrics(), table_reader(settings, resolve_kafka(settings), "lucent-cli")
    )
    try:
        follower.load()
    finally:
        follower.close()
    if table.rejected:
        click.echo(f"({table.rejected} unreadable rule record(s) ignored)", err=True)
    return sorted((key.decode(errors="replace"), rule) for key, rule in table.items())


COMMANDS = [alerts]
