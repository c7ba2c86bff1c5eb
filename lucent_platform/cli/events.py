"""``lucent events tail``: the domain events in the event store, newest last (and following)."""

from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any

import click

from lucent_platform.cli.main import settings_from
from lucent_platform.config import Settings
from lucent_platform.stack.endpoints import read_stack_file


@click.group()
def events() -> None:
    """Domain events: what the domain handlers appended to the event store."""


@events.command()
@click.option("-n", "--limit", type=int, default=20, show_default=True, help="How many events.")
@click.option(
    "--stream", "stream_name", default=None, help="Only this stream (e.g. portfolio-main)."
)
@click.option("--type", "event_type", default=None, help="Only events of this type.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new events until Ctrl-C.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def tail(
    ctx: click.Context,
    limit: int,
    stream_name: str | None,
    event_type: str | None,
    follow: bool,
    as_json: bool,
) -> None:
    """Print the last LIMIT domain events (all streams, or one), then follow with -f.

    Each line: commit position, stream@position, type, event id, correlation and causation
    ids, and the event's data.
    """
    from lucent_platform.eventstore import RecordedEvent, open_event_store

    settings = settings_from(ctx)
    store = open_event_store(_event_store(settings))

    def wanted(event: RecordedEvent) -> bool:
        return (stream_name is None or event.stream_name == stream_name) and (
            event_type is None or event.type == event_type
        )

    try:
        last: deque[RecordedEvent] = deque(maxlen=max(limit, 0))
        position: int | None = None
        for event in store.read_all():
            position = event.commit_position
            if wanted(event):
                last.append(event)
        for event in last:
            click.echo(_line(event, as_json))
        if not last and not follow:
            click.echo("(no domain events yet)", err=True)
        if follow:
            stop = threading.Event()
            try:
                for event in store.subscribe_to_all(commit_position=position, stop=stop):
                    if wanted(event):
                        click.echo(_line(event, as_json))
            except KeyboardInterrupt:
                stop.set()
    finally:
        store.close()


def _event_store(settings: Settings) -> str:
    """The store only: LUCENT_EVENTSTORE_URI/_PATH, else the running stack's, else the
    embedded default file (the other services need not be up)."""
    if settings.eventstore_uri:
        return settings.eventstore_uri
    if settings.eventstore_path:
        return str(settings.eventstore_path)
    running = read_stack_file(settings.data_dir)
    return running.eventstore if running else str(settings.resolved_eventstore_path)


def _line(event: Any, as_json: bool) -> str:
    try:
        metadata = json.loads(event.metadata or b"{}")
    except ValueError:
        metadata = {}
    data = event.data.decode(errors="replace")
    if as_json:
        return json.dumps({
            "commitPosition": event.commit_position, "stream": event.stream_name,
            "streamPosition": event.stream_position, "type": event.type, "eventId": str(event.id),
            "recordedAtMs": event.recorded_at_ms, "metadata": metadata, "data": json.loads(data),
        })  # fmt: skip
    return (
        f"{event.commit_position} {event.stream_name}@{event.stream_position} {event.type} "
        f"{event.id} corr={metadata.get('correlationId', '-')} "
        f"cause={metadata.get('causationId', '-')} {data}"
    )


COMMANDS = [events]
