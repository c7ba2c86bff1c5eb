"""``lucent topics provision`` and ``lucent topics list``."""

from __future__ import annotations

import click

from lucent_platform.cli.main import settings_from
from lucent_platform.stack.endpoints import resolve_kafka


@click.group()
def topics() -> None:
    """Create and inspect the Kafka topics of the catalog."""


@topics.command()
@click.option("--exchanges", help="Comma-separated exchanges (default LUCENT_EXCHANGES).")
@click.option("--pairs", help="Comma-separated pairs (default LUCENT_PAIRS).")
@click.pass_context
def provision(ctx: click.Context, exchanges: str | None, pairs: str | None) -> None:
    """Create every catalog topic that is missing (idempotent); existing ones are kept."""
    from lucent_platform import topics as catalog
    from lucent_platform.adapters import kafka

    settings = settings_from(ctx)
    exchange_list = exchanges.split(",") if exchanges else settings.exchanges
    pair_list = pairs.split(",") if pairs else settings.pairs
    try:  # names first: a name that cannot be a topic segment is a usage error
        specs = catalog.fixed_topics() + catalog.instrument_topics(exchange_list, pair_list)
    except catalog.TopicNameError as exc:
        raise click.BadParameter(str(exc), param_hint="--exchanges/--pairs") from None
    bootstrap = resolve_kafka(settings)
    results = kafka.provision(
        kafka.admin(settings, bootstrap),
        specs,
        replication_factor=settings.replication_factor,
        min_insync_replicas=settings.min_insync_replicas,
    )
    for result in results:
        click.echo(f"{result.status:<10} {result.topic}")
    failed = [r for r in results if r.status.startswith("failed")]
    if failed:
        raise click.ClickException(f"{len(failed)} topic(s) could not be created")


@topics.command(name="list")
@click.pass_context
def list_topics(ctx: click.Context) -> None:
    """Show every topic on the broker: partitions, messages, and its role in the catalog."""
    from lucent_platform import topics as catalog
    from lucent_platform.adapters import kafka

    settings = settings_from(ctx)
    bootstrap = resolve_kafka(settings)
    known = {spec.name: spec for spec in catalog.fixed_topics()}
    infos = kafka.describe_topics(settings, bootstrap)
    click.echo(f"{'TOPIC':<44} {'PARTS':>5} {'MESSAGES':>10}  ROLE")
    for info in infos:
        spec = known.get(info.topic)
        role = spec.description if spec else _role_of(info.topic)
        click.echo(f"{info.topic:<44} {info.partitions:>5} {info.messages:>10}  {role}")


def _role_of(name: str) -> str:
    import re

    from lucent_platform.topics import Kind, raw_pattern

    for kind in Kind:
        if re.match(raw_pattern(kind), name):
            return f"raw {kind.value}"
    return ""


COMMANDS = [topics]
