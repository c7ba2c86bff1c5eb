"""``lucent clickhouse migrate [--dry-run]`` and ``lucent clickhouse status``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from lucent_platform.cli.main import settings_from

if TYPE_CHECKING:
    from lucent_platform.adapters.clickhouse import Client
    from lucent_platform.config import Settings


@click.group()
def clickhouse() -> None:
    """Create and inspect the ClickHouse analytics schema."""


def _client(settings: Settings) -> Client:
    """A client on the configured server, or on the running local stack's embedded one."""
    from lucent_platform.adapters.clickhouse import connect, credentials
    from lucent_platform.stack.endpoints import resolve

    url = settings.clickhouse_url or resolve(settings).clickhouse_url
    return connect(
        url,
        **credentials(settings),
    )


@clickhouse.command()
@click.option("--dry-run", is_flag=True, help="Print what would be applied; change nothing.")
@click.pass_context
def migrate(ctx: click.Context, dry_run: bool) -> None:
    """Apply the missing schema migrations, TTLs and ingest mode (idempotent)."""
    from lucent_platform.analytics import MigrationError
    from lucent_platform.analytics import migrate as run_migrations

    settings = settings_from(ctx)
    client = _client(settings)
    try:
        steps = run_migrations(client, settings, dry_run=dry_run)
    except (MigrationError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        client.close()
    verb = "would apply" if dry_run else "applied"
    for step in steps:
        click.echo(f"{verb:<12} {step.what}")
        if dry_run:
            for statement in step.statements:
                click.echo("    " + statement.replace("\n", "\n    ") + ";")
    if not steps:
        click.echo(f"up to date: database {settings.clickhouse_database}")


@clickhouse.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Show the applied migrations and every table's row count."""
    from lucent_platform.analytics.migrate import load_migrations

    settings = settings_from(ctx)
    database = settings.clickhouse_database
    client = _client(settings)
    try:
        bound = {"db": database}
        applied = {}
        if client.query(
            "SELECT count() FROM system.tables WHERE database = {db:String} "
            "AND name = 'schema_migrations'",
            parameters=bound,
        ).result_rows[0][0]:
            applied = {
                version: when
                for version, when in client.query(
                    f"SELECT version, applied_at FROM `{database}`.schema_migrations FINAL",
                ).result_rows
            }
        tables = client.query(
            "SELECT name, engine, total_rows FROM system.tables WHERE database = {db:String} "
            "ORDER BY name",
            parameters=bound,
        ).result_rows
    finally:
        client.close()
    click.echo(f"database {database} (ingest: {settings.clickhouse_ingest})")
    for migration in load_migrations():
        when = applied.get(migration.version)
        state = f"applied {when:%Y-%m-%d %H:%M:%S}" if when else "pending"
        click.echo(f"  {migration.label:<24} {state}")
    if tables:
        click.echo(f"{'TABLE':<28} {'ENGINE':<24} {'ROWS':>12}")
    for name, engine, rows in tables:
        count = "" if rows is None else f"{rows:,}"
        click.echo(f"{name:<28} {engine:<24} {count:>12}")


COMMANDS = [clickhouse]
