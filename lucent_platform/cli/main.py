"""The ``lucent`` command group and its error handling."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from lucent_platform.config import Settings, SettingsError, load_settings
from lucent_platform.stack.errors import StackError


class LucentGroup(click.Group):
    """Turns the platform's own errors, and a Kafka or ClickHouse client's connection errors,
    into one clear line and exit code 2, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        obj = ctx.ensure_object(dict)  # shared with every subcommand: settings_from fills it
        try:
            return super().invoke(ctx)
        except (SettingsError, StackError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except Exception as exc:  # a client error (server down, refused, unknown topic)
            from lucent_platform.adapters import clickhouse, kafka

            message = kafka.explain(exc, obj.get("settings")) or clickhouse.explain(exc)
            if message is None:
                raise
            click.echo(f"error: {message}", err=True)
            sys.exit(2)


def settings_from(ctx: click.Context) -> Settings:
    """Settings are read once per process, on first use, then passed down."""
    obj = ctx.ensure_object(dict)
    if "settings" not in obj:
        obj["settings"] = load_settings()
        logging.basicConfig(
            level=obj["settings"].log_level.upper(),
            format="%(asctime)s %(levelname)-5s %(name)s: %(message)s",
            stream=sys.stderr,
        )
    settings: Settings = obj["settings"]
    return settings


@click.group(cls=LucentGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lucent-platform")
def cli() -> None:
    """Lucent: crypto market data through Kafka, ClickHouse and NATS, run by Dagster.

    Settings come from LUCENT_* environment variables (and a .env file); see README.md.
    """


def _register() -> None:
    from lucent_platform.cli import (
        alerts,
        bench,
        chaos,
        clickhouse,
        demo,
        events,
        feeds,
        query,
        reprocess,
        stack,
        topics,
        trace,
        worker,
    )

    commands = (stack, topics, clickhouse, worker, feeds, reprocess, demo, query, alerts, bench,
                trace, events, chaos)  # fmt: skip
    for module in commands:
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="lucent")
