"""``lucent bench …``: benchmarks that print figures and ratios against a peer, same run."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group()
def bench() -> None:
    """Measure, print figures, compare with a peer in the same run (never a pass/fail test)."""


@bench.command()
@click.option("-n", "--messages", type=int, default=200_000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def envelope(messages: int, as_json: bool) -> None:
    """Envelope encode/decode rate (msg/s): msgspec (ours) vs json, orjson, pydantic."""
    from lucent_platform.bench import envelope as envelope_bench

    figures = envelope_bench.run(messages, echo=not as_json)
    if as_json:
        click.echo(json.dumps(figures))


@bench.command()
@click.option(
    "--frames",
    type=int,
    default=100_000,
    show_default=True,
    help="At least this many recorded frames are fed per measurement.",
)
@click.option(
    "--input",
    "input_path",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Recordings to replay (default: the repository's tests/fixtures/market).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def feed(frames: int, input_path: Path | None, as_json: bool) -> None:
    """Replay feed throughput on one core: ccxt parse vs ours, and into the local broker."""
    from streaming.bench import feed as feed_bench

    figures = feed_bench.run(input_path or feed_bench.DEFAULT_INPUT, frames, echo=not as_json)
    if as_json:
        click.echo(json.dumps(figures))


COMMANDS = [bench]
