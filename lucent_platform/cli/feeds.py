"""``lucent feed simulate``, ``lucent replay``, ``lucent record`` and ``lucent tail``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from lucent_platform.cli.main import settings_from
from lucent_platform.cli.params import Finite, SafePath, topic_name
from lucent_platform.stack.endpoints import resolve_kafka


@click.group()
def feed() -> None:
    """Run a market feed in the foreground against the running stack."""


@feed.command()
@click.option(
    "--seconds",
    type=Finite(min=0, min_open=True),
    default=None,
    help="Stop after this long (default: never).",
)
@click.option(
    "--rate", type=Finite(min=0, min_open=True), default=None,
    help="Message-rate multiplier (LUCENT_SIMULATOR_RATE).",
)  # fmt: skip
@click.option("--seed", type=int, default=None, help="Seed (LUCENT_SIMULATOR_SEED).")
@click.pass_context
def simulate(
    ctx: click.Context, seconds: float | None, rate: float | None, seed: int | None
) -> None:
    """Simulated Binance, Coinbase and Kraken (plus lending pools) into the raw topics."""
    from streaming.feeds import simulate as simulator_feed
    from streaming.lifecycle import StopSignal
    from streaming.publisher import Publisher

    settings = settings_from(ctx)
    changes = {
        k: v for k, v in {"simulator_rate": rate, "simulator_seed": seed}.items() if v is not None
    }
    settings = settings.model_copy(update=changes)
    publisher = Publisher(settings, resolve_kafka(settings))
    stop = StopSignal().install()
    try:
        counts = simulator_feed.run(settings, publisher, stop, seconds=seconds)
    finally:
        publisher.flush()
    click.echo(f"published {counts['messages']} messages: {dict(counts)}")


@click.command()
@click.argument("path", type=SafePath(exists=True, path_type=Path))
@click.option(
    "--speed",
    type=Finite(min=0),
    default=None,
    help="1 = as recorded, N = N× faster (default LUCENT_REPLAY_SPEED).",
)
@click.option("--fast", is_flag=True, help="As fast as possible (same as --speed 0).")
@click.option(
    "--to", "target", type=click.Choice(["kafka", "stdout"]), default="kafka", show_default=True
)
@click.option(
    "--exchange", default=None, help="The venue, when neither the file nor its path says."
)
@click.option(
    "--chain",
    default=None,
    help="The chain (ethereum, arbitrum, …) of bare log objects or JSON-RPC responses.",
)
@click.pass_context
def replay(
    ctx: click.Context,
    path: Path,
    speed: float | None,
    fast: bool,
    target: str,
    exchange: str | None,
    chain: str | None,
) -> None:
    """Replay recorded exchange or chain traffic (a file or a folder) through the connectors.

    Reads `lucent record` files and other tools' recordings (native exchange frames, e.g.
    Binance combined-stream lines; cryptofeed and Tardis line formats; REST snapshot lines),
    chain recordings ({"chain", "received_ns", "message"} lines: eth_getLogs log objects or
    JSON-RPC responses, + "request"), gzipped or not. The same file always yields the same
    envelopes.
    """
    from lucent_platform.envelope import Envelope, encode
    from lucent_platform.recordings import RecordingError, read_recordings
    from streaming.feeds.replay import Replayer
    from streaming.lifecycle import StopSignal

    settings = settings_from(ctx)
    if chain is not None:
        from lucent_platform.chains.logs import CHAIN_NAMES

        if chain not in CHAIN_NAMES.values():
            raise click.BadParameter(
                f"{chain!r} is not one of {', '.join(sorted(CHAIN_NAMES.values()))}",
                param_hint="--chain",
            )
    pace = 0.0 if fast else (settings.replay_speed if speed is None else speed)
    stop = StopSignal().install()
    publisher = None
    sink: Callable[[Envelope[Any]], None]
    if target == "stdout":
        out = sys.stdout.buffer

        def sink(envelope: Envelope[Any]) -> None:
            out.write(encode(envelope) + b"\n")
    else:
        from streaming.publisher import Publisher

        publisher = Publisher(settings, resolve_kafka(settings))
        sink = publisher.publish_envelope
    try:
        stats = Replayer(sink, speed=pace).run(
            read_recordings(path, exchange, chain), stop=lambda: stop.stopped
        )
    except (RecordingError, ValueError) as exc:  # unreadable file, unknown venue
        raise click.ClickException(str(exc)) from None
    finally:
        if publisher is not None:
            publisher.flush()
        sys.stdout.flush()
    summary = (
        f"replayed {stats.frames} frames → {stats.envelopes} envelopes "
        f"({dict(stats.by_kind)}); {stats.control} control, {stats.skipped} skipped, "
        f"{stats.rejected} rejected"
    )
    click.echo(summary, err=True)


@click.command()
@click.option(
    "--out",
    type=SafePath(dir_okay=False, path_type=Path),
    required=True,
    help="The recording to write (JSONL; gzipped when it ends in .gz).",
)
@click.option("--exchanges", default=None, help="Comma-separated exchanges (LUCENT_EXCHANGES).")
@click.option("--pairs", default=None, help="Comma-separated pairs (LUCENT_PAIRS).")
@click.option(
    "--seconds", type=Finite(min=0, min_open=True), default=None,
    help="Stop after this long (default: Ctrl-C).",
)  # fmt: skip
@click.option(
    "--chains",
    default=None,
    help="Comma-separated chains of LUCENT_CHAINS: record their nodes' JSON-RPC traffic "
    "instead of the exchanges.",
)
@click.pass_context
def record(
    ctx: click.Context,
    out: Path,
    exchanges: str | None,
    pairs: str | None,
    seconds: float | None,
    chains: str | None,
) -> None:
    """Record what the live connectors receive, raw and timestamped, for `lucent replay`.

    One line per received frame: {"exchange", "received_ns", "message"} (+ "url" for REST
    order-book snapshots). Needs the exchanges' websockets (or LUCENT_EXCHANGE_URLS). With
    --chains, one line per received chain item: {"chain", "received_ns", "message"} (+
    "request" for a JSON-RPC response), from the nodes LUCENT_CHAINS configures.
    """
    import asyncio
    import time

    from lucent_platform.config import with_overrides
    from lucent_platform.recordings import Frame, open_for_writing, write_frames
    from streaming.feeds.live import feeds_from, run_venues
    from streaming.lifecycle import StopSignal

    settings = with_overrides(settings_from(ctx), exchanges=exchanges, pairs=pairs)
    stop = StopSignal().install()
    deadline = None if seconds is None else time.monotonic() + seconds

    def stopped() -> bool:
        return stop.stopped or (deadline is not None and time.monotonic() > deadline)

    with open_for_writing(out) as sink:

        def write(frame: Frame) -> None:
            write_frames(sink, [frame])

        if chains is not None:
            from streaming.feeds.chain import ChainMismatch
            from streaming.feeds.chain_worker import record_chains

            names = [name.strip() for name in chains.split(",") if name.strip()]
            try:
                chain_feeds = record_chains(settings, names, write, stopped)
            except (ValueError, ChainMismatch) as exc:  # not configured, or the wrong node
                raise click.ClickException(str(exc)) from None
            items = sum(feed.counts["items"] for feed in chain_feeds)
            click.echo(f"recorded {items} chain items to {out}", err=True)
            return
        feeds = feeds_from(settings, sink=None, on_frame=write)
        asyncio.run(run_venues(feeds, stopped))
    frames = sum(feed.counts["frames"] + feed.counts["snapshots"] for feed in feeds)
    click.echo(f"recorded {frames} frames to {out}", err=True)


@click.command()
@click.argument("topic", callback=topic_name)
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="How many records.",
)
@click.pass_context
def tail(ctx: click.Context, topic: str, limit: int) -> None:
    """Print the last LIMIT records of TOPIC (key and value) from the running broker."""
    from lucent_platform.adapters import kafka

    settings = settings_from(ctx)
    records = kafka.read_topic(settings, resolve_kafka(settings), topic, limit=100_000)
    for record in records[-limit:]:
        key = (record.key or b"").decode(errors="replace")
        value = (record.value or b"").decode(errors="replace")
        click.echo(f"{record.partition}:{record.offset} {key} {value}")
    if not records:
        click.echo(f"(no records on {topic})", err=True)


COMMANDS = [feed, replay, record, tail]
