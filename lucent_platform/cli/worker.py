"""``lucent worker NAME``: run one always-on streaming worker in the foreground."""

from __future__ import annotations

import click

from lucent_platform.cli.main import settings_from
from lucent_platform.stack.endpoints import resolve


@click.command()
@click.argument("name", required=False)
@click.pass_context
def worker(ctx: click.Context, name: str | None) -> None:
    """Run the streaming worker NAME against the running stack (no NAME: list workers).

    Several instances of one worker share its consumer group, so running more of them
    (on any machine that reaches the cluster) scales it out; SIGTERM/Ctrl-C stops it cleanly.
    """
    from streaming.registry import WORKERS

    if name is None:
        for known in WORKERS:
            click.echo(known)
        if not WORKERS:
            click.echo("(no streaming workers are registered yet)")
        return
    if name not in WORKERS:
        choices = ", ".join(WORKERS) or "none yet"
        raise click.BadParameter(f"unknown worker {name!r}; choose one of: {choices}")
    from streaming.metrics_server import serve

    settings = settings_from(ctx)
    endpoints = resolve(settings)
    serve(settings, name)
    WORKERS[name](settings, endpoints)


COMMANDS = [worker]
