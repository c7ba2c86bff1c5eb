"""``lucent bench …``: benchmarks that print figures and ratios against a peer, same run."""

from __future__ import annotations

import json

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


COMMANDS = [bench]
