"""``lucent trace EVENT_ID``: a domain event's causal chain back to the market messages."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

import click

from lucent_platform.cli.main import settings_from


@click.command()
@click.argument("event_id")
@click.option("--json", "as_json", is_flag=True, help="The chain as JSON, every field.")
@click.pass_context
def trace(ctx: click.Context, event_id: str, as_json: bool) -> None:
    """Show what caused the domain event EVENT_ID (e.g. a PositionRecommendationEvent's id):
    the events before it, the command, the signal record and the market messages, each under
    the one it caused.

    Reads the event store (LUCENT_EVENTSTORE_URI or the embedded file), the signal and market
    records from Kafka (the running stack or LUCENT_KAFKA_BOOTSTRAP_SERVERS) and their rows
    from ClickHouse (as `lucent query` does); what cannot be read is marked, not skipped.
    """
    from lucent_platform.eventstore import open_event_store
    from lucent_platform.stack.endpoints import read_stack_file
    from lucent_platform.tracing.chain import TraceError, walk
    from lucent_platform.tracing.lookups import StoreLookups
    from lucent_platform.tracing.render import as_json as render_json
    from lucent_platform.tracing.render import as_tree

    settings = settings_from(ctx)
    target: Any = settings.eventstore_uri
    if target is None:
        target = settings.resolved_eventstore_path
        if not target.is_file():
            raise click.ClickException(
                f"no event store at {target}: set LUCENT_DATA_DIR (or LUCENT_EVENTSTORE_PATH, "
                "LUCENT_EVENTSTORE_URI) to the store `lucent up` wrote"
            )
    running = read_stack_file(settings.data_dir)
    bootstrap = settings.kafka_bootstrap_servers or (
        running.kafka_bootstrap_servers if running else None
    )
    with ExitStack() as stack:
        store = stack.enter_context(open_event_store(target))
        lookups = StoreLookups(
            store,
            read_record=None if bootstrap is None else _kafka_reader(settings, bootstrap),
            clickhouse=_clickhouse(settings, stack),
        )
        try:
            chain = walk(event_id, lookups)
        except TraceError as exc:
            raise click.ClickException(f"{exc} ({target})") from None
    if bootstrap is None:
        chain[-1].notes.append(
            "Kafka not read: no running stack, LUCENT_KAFKA_BOOTSTRAP_SERVERS unset"
        )
    click.echo(render_json(event_id, chain) if as_json else as_tree(chain))


def _kafka_reader(settings: Any, bootstrap: str) -> Any:
    from lucent_platform.adapters.kafka import read_record

    def read(topic: str, partition: int, offset: int) -> bytes | None:
        found = read_record(settings, bootstrap, topic, partition, offset)
        return None if found is None else found.value

    return read


def _clickhouse(settings: Any, stack: ExitStack) -> Any:
    """A client on the analytics database, or None (said on stderr) when there is none."""
    from lucent_platform.adapters.clickhouse import connect, credentials
    from lucent_platform.stack.clickhouse_reader import clickhouse_for_reading

    try:
        source = stack.enter_context(clickhouse_for_reading(settings))
        return connect(
            source.url,
            **credentials(settings),
            database=settings.clickhouse_database,
        )
    except Exception as exc:  # StackError: no data dir; the client's own errors (layering)
        click.echo(f"(ClickHouse not read: {exc})", err=True)
    return None


COMMANDS = [trace]
