"""``lucent up``, ``lucent status`` and ``lucent settings``."""

from __future__ import annotations

import json

import click

from lucent_platform.cli.main import settings_from
from lucent_platform.stack.endpoints import resolve


@click.command()
@click.option("--no-dagster", is_flag=True, help="Headless: no Dagster webserver/daemon.")
@click.option(
    "--seconds", type=float, default=None, help="Stop by itself after this long (default: never)."
)
@click.pass_context
def up(ctx: click.Context, no_dagster: bool, seconds: float | None) -> None:
    """Start the whole platform locally and supervise it until Ctrl-C.

    Embedded services (Kafka/Tansu, NATS JetStream, ClickHouse over chDB, the event store)
    start on free loopback ports unless their LUCENT_* address points elsewhere; then the
    topics are provisioned, and Dagster (UI on LUCENT_DAGSTER_PORT) and every streaming
    worker start. Logs go to DATA_DIR/logs/.
    """
    from lucent_platform.stack.local import LocalStack
    from streaming.registry import WORKERS

    settings = settings_from(ctx)
    stack = LocalStack(settings, with_dagster=not no_dagster, workers=list(WORKERS))
    try:
        endpoints = stack.start()
        click.echo(_summary(endpoints.__dict__, settings.data_dir))
        code = stack.supervise(seconds)
    finally:
        stack.stop()
    click.echo("stopped: every service and worker has exited")
    ctx.exit(code)


def _summary(endpoints: dict[str, object], data_dir: object) -> str:
    rows = [f"  {name:<24} {value}" for name, value in endpoints.items() if value]
    return "\n".join(
        ["lucent is up:", *rows, f"  {'logs':<24} {data_dir}/logs", "Ctrl-C stops everything."]
    )


@click.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Show the endpoints of the running stack (or of the services the settings name)."""
    endpoints = resolve(settings_from(ctx))
    click.echo(json.dumps(endpoints.__dict__, indent=2))


@click.command(name="settings")
@click.pass_context
def show_settings(ctx: click.Context) -> None:
    """Print the effective settings (secrets masked) as JSON."""
    settings = settings_from(ctx)
    click.echo(settings.model_dump_json(indent=2))


COMMANDS = [up, status, show_settings]
