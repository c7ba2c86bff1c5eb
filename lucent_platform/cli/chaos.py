"""``lucent chaos …``: scenarios against the whole local pipeline, each ending in a verdict."""

from __future__ import annotations

import json
from pathlib import Path

import click

from lucent_platform.cli.main import settings_from
from lucent_platform.cli.stack import feed_settings


@click.group()
def chaos() -> None:
    """Run the whole local pipeline through a scenario and judge what the platform promises.

    Each scenario starts its own headless stack (like `lucent up --no-dagster`) on
    LUCENT_DATA_DIR, prints what it measures as it goes, and exits 1 when a promise failed.
    """


@chaos.command()
@click.option("--minutes", type=float, default=30.0, show_default=True, help="How long to load.")
@click.option("--rate", type=float, default=5000.0, show_default=True,
              help="Messages/s the simulated feed writes into the raw topics.")  # fmt: skip
@click.option("--interval", type=float, default=60.0, show_default=True,
              help="Seconds between two rows (readings of every stage).")  # fmt: skip
@click.option("--drain", type=float, default=180.0, show_default=True,
              help="After the load, how long every consumer may take to catch up.")  # fmt: skip
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write rows, accounting and verdict to this file.")  # fmt: skip
@click.pass_context
def soak(
    ctx: click.Context,
    minutes: float,
    rate: float,
    interval: float,
    drain: float,
    json_path: Path | None,
) -> None:
    """Sustained load through the whole pipeline: a row per interval, then a verdict.

    The simulated feed runs at RATE msg/s (its LUCENT_SIMULATOR_RATE is measured for the
    configured exchanges, pairs and pools); every row gives records in (raw topics) and out
    (normalized + dead letters), the processor's p50/p99 over that interval, the sink's rows,
    errors, each consumer's lag and each process's RSS. Then the feed stops, every consumer
    catches up, and the verdict judges rate, flat memory, bounded lag, accounting and errors.
    """
    from lucent_platform.chaos.lines import row_line, verdict_text
    from lucent_platform.chaos.soak import Plan, run
    from lucent_platform.processing.config import processor_config
    from lucent_platform.simulator.rate import multiplier_for
    from streaming.feeds.simulate import simulator_for
    from streaming.registry import startable

    for name, value in (("--minutes", minutes), ("--rate", rate), ("--interval", interval)):
        if value <= 0:
            raise click.BadParameter("must be more than 0", param_hint=name)
    settings, worker_env = feed_settings(settings_from(ctx), "simulate", None, None)
    multiplier = multiplier_for(rate, simulator_for(settings, 0).config)
    worker_env["LUCENT_SIMULATOR_RATE"] = repr(multiplier)
    workers = [name for name in startable(settings) if name != "chain"]  # its rate is a node's
    click.echo(f"soak: {minutes:g} min at {rate:,.0f} msg/s (LUCENT_SIMULATOR_RATE "
               f"{multiplier:.2f}), {len(workers)} workers: {', '.join(workers)}")  # fmt: skip
    # The processor's de-duplication windows fill for two generations of their ttl before
    # its memory is bounded: the verdict judges memory after that (or the first half).
    warm_up = 2 * processor_config(settings.processor_config).dedup.ttl_ms / 60_000
    plan = Plan(minutes, rate, interval_s=interval, drain_s=drain, warm_up_min=warm_up)
    report = run(settings, workers, worker_env, plan, multiplier,
                 echo=lambda row: click.echo(row_line(row, minutes)))  # fmt: skip
    click.echo(verdict_text(report))
    if json_path is not None:
        json_path.write_text(json.dumps(report.as_dict(), indent=2))
        click.echo(f"rows and verdict written to {json_path}")
    ctx.exit(0 if report.verdict is not None and report.verdict.passed else 1)


COMMANDS = [chaos]
