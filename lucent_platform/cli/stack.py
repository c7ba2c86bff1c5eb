"""``lucent up``, ``lucent status`` and ``lucent settings``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lucent_platform.cli.main import settings_from
from lucent_platform.cli.params import Finite
from lucent_platform.config import Settings, with_overrides
from lucent_platform.redaction import redact_urls

if TYPE_CHECKING:
    from lucent_platform.status.snapshot import Snapshot


def feed_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--feed``, ``--exchanges`` and ``--pairs``, shared by ``up`` and ``demo``."""
    command = click.option(
        "--pairs",
        default=None,
        help="Comma-separated pairs, e.g. ETH/USDC,BTC/USDT (LUCENT_PAIRS).",
    )(command)
    command = click.option(
        "--exchanges", default=None, help="Comma-separated exchanges (LUCENT_EXCHANGES)."
    )(command)
    return click.option(
        "--feed",
        default=None,
        help="simulate (default), replay:PATH (a recording or folder), or live (LUCENT_FEED).",
    )(command)


def feed_settings(
    settings: Settings, feed: str | None, exchanges: str | None, pairs: str | None
) -> tuple[Settings, dict[str, str]]:
    """Settings with the feed options applied, and the env that hands them to the workers."""
    settings = with_overrides(settings, feed=feed, exchanges=exchanges, pairs=pairs)
    env = {
        "LUCENT_FEED": settings.feed,
        "LUCENT_EXCHANGES": ",".join(settings.exchanges),
        "LUCENT_PAIRS": ",".join(settings.pairs),
    }
    if settings.feed.startswith("replay:"):  # workers run elsewhere: make the path absolute
        path = Path(settings.feed.removeprefix("replay:")).resolve()
        env["LUCENT_FEED"] = f"replay:{path}"
    return settings, env


@click.command()
@click.option("--no-dagster", is_flag=True, help="Headless: no Dagster webserver/daemon.")
@feed_options
@click.option(
    "--seconds",
    type=Finite(min=0, min_open=True),
    default=None,
    help="Stop by itself after this long (default: never).",
)
@click.pass_context
def up(
    ctx: click.Context,
    no_dagster: bool,
    seconds: float | None,
    feed: str | None,
    exchanges: str | None,
    pairs: str | None,
) -> None:
    """Start the whole platform locally and supervise it until Ctrl-C.

    Embedded services (Kafka/Tansu, NATS JetStream, ClickHouse over chDB, the event store)
    start on free loopback ports unless their LUCENT_* address points elsewhere; then the
    topics are provisioned, and Dagster (UI on LUCENT_DAGSTER_PORT) and every streaming
    worker start. Logs go to DATA_DIR/logs/.
    """
    from lucent_platform.stack.local import LocalStack
    from streaming.registry import startable

    settings, worker_env = feed_settings(settings_from(ctx), feed, exchanges, pairs)
    stack = LocalStack(
        settings, with_dagster=not no_dagster, workers=startable(settings), worker_env=worker_env
    )
    try:
        endpoints = stack.start()
        click.echo(_summary(endpoints.__dict__, settings.data_dir))
        code = stack.supervise(seconds)
    finally:
        stack.stop()
    click.echo("stopped: every service and worker has exited")
    ctx.exit(code)


def _summary(endpoints: dict[str, object], data_dir: object) -> str:
    rows = [f"  {name:<24} {redact_urls(str(value))}" for name, value in endpoints.items() if value]
    return "\n".join(
        ["lucent is up:", *rows, f"  {'logs':<24} {data_dir}/logs", "Ctrl-C stops everything."]
    )


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the snapshot as JSON (for scripts).")
@click.option(
    "--watch",
    type=Finite(min=0.1),
    is_flag=False,
    flag_value=2.0,
    default=None,
    metavar="[SECONDS]",
    help="Refresh the screen every SECONDS (default 2) until Ctrl-C.",
)
@click.pass_context
def status(ctx: click.Context, as_json: bool, watch: float | None) -> None:
    """One screen of the running platform: services (probed), workers (state, rate, lag,
    latency), freshness per source and open alerts. Exits 1 when no stack is running."""
    from lucent_platform.status.gather import gather
    from streaming.registry import WORKERS

    settings = settings_from(ctx)
    names = list(WORKERS)
    if watch is not None and watch <= 0:
        raise click.BadParameter("must be more than 0 seconds", param_hint="--watch")
    if watch is None or as_json:
        snapshot, _ = gather(settings, names)
        if as_json:
            click.echo(json.dumps(snapshot.as_dict(), indent=2))
        else:
            _print(snapshot)
        ctx.exit(0 if snapshot.running else 1)
    _watch(settings, names, watch)


def _print(snapshot: Snapshot) -> None:
    from rich.console import Console

    from lucent_platform.cli.status_screen import render

    Console().print(render(snapshot))


def _watch(settings: Settings, names: list[str], every: float) -> None:
    import time

    from rich.live import Live

    from lucent_platform.cli.status_screen import render
    from lucent_platform.status.gather import gather

    try:
        snapshot, sample = gather(settings, names, rate_interval_s=min(every, 2.0))
        with Live(render(snapshot), auto_refresh=False) as live:
            while True:
                time.sleep(every)
                snapshot, sample = gather(settings, names, previous=sample)
                live.update(render(snapshot), refresh=True)
    except KeyboardInterrupt:
        pass


@click.command(name="settings")
@click.pass_context
def show_settings(ctx: click.Context) -> None:
    """Print the effective settings (secrets masked) as JSON."""
    settings = settings_from(ctx)
    click.echo(settings.model_dump_json(indent=2))


COMMANDS = [up, status, show_settings]
