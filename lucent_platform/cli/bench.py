"""``lucent bench …``: benchmarks that print figures and ratios against a peer, same run."""

from __future__ import annotations

import json
from pathlib import Path

import click

from lucent_platform.cli.params import Finite


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
@click.option("--fill", "steps", type=int, multiple=True,
              default=(0, 500_000, 1_500_000, 3_000_000), show_default=True,
              help="Records the broker holds at each measurement (repeat the option).")  # fmt: skip
@click.option("--probe", type=int, default=20_000, show_default=True,
              help="Newest records read per fetch measurement.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def broker(steps: tuple[int, ...], probe: int, as_json: bool) -> None:
    """Fetch and transaction speed of the local broker as it fills, vs the same broker empty."""
    from streaming.bench import broker as broker_bench

    if any(step < 0 for step in steps) or probe < 1:
        raise click.BadParameter("--fill must not be negative and --probe at least 1")
    figures = broker_bench.run(tuple(steps), probe, echo=not as_json)
    if as_json:
        click.echo(json.dumps(figures))


@bench.command("clickhouse-server")
@click.option("-n", "--rows", type=int, default=100_000, show_default=True, help="Rows per batch.")
@click.option("--rounds", type=int, default=5, show_default=True, help="Best of this many.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def clickhouse_server(rows: int, rounds: int, as_json: bool) -> None:
    """Insert rows/s through the embedded ClickHouse server vs chDB direct, on one core."""
    from lucent_platform.bench import clickhouse_server as server_bench

    figures = server_bench.run(rows, rounds, echo=not as_json)
    if as_json:
        click.echo(json.dumps(figures))


@bench.command()
@click.option(
    "--frames",
    type=int,
    default=100_000,
    show_default=True,
    help="At least this many recorded frames (--source dex: decoded logs) per measurement.",
)
@click.option(
    "--input",
    "input_path",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Recordings to replay (default: tests/fixtures/market, or for --source dex "
    "tests/fixtures/chain/recordings/ethereum_mixed.jsonl).",
)
@click.option(
    "--source",
    type=click.Choice(["exchanges", "dex"]),
    default="exchanges",
    show_default=True,
    help="exchanges: websocket frames (ccxt vs ours, into the broker); dex: chain logs "
    "through ChainConnector vs eth-abi's decode alone.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def feed(frames: int, input_path: Path | None, source: str, as_json: bool) -> None:
    """Replay feed throughput on one core: ccxt parse vs ours and into the local broker, or
    (--source dex) chain logs decoded per second vs a decode-only floor."""
    if source == "dex":
        from streaming.bench import dex as dex_bench

        try:
            figures = dex_bench.run(input_path or dex_bench.DEFAULT_INPUT, frames, echo=not as_json)
        except ValueError as exc:  # no chain items in the input
            raise click.ClickException(str(exc)) from None
    else:
        from streaming.bench import feed as feed_bench

        figures = feed_bench.run(input_path or feed_bench.DEFAULT_INPUT, frames, echo=not as_json)
    if as_json:
        click.echo(json.dumps(figures))


@bench.command()
@click.option("-n", "--messages", type=int, default=200_000, show_default=True,
              help="Simulator envelopes each contender processes.")  # fmt: skip
@click.option("--rate", type=int, default=5000, show_default=True,
              help="Steady input rate of the latency runs (msg/s).")  # fmt: skip
@click.option("--seconds", type=Finite(min=0, min_open=True), default=20.0, show_default=True,
              help="Measured span of each latency run, after --warmup.")  # fmt: skip
@click.option("--warmup", type=Finite(min=0), default=5.0, show_default=True,
              help="Seconds of each latency run not counted.")  # fmt: skip
@click.option("--rounds", type=int, default=3, show_default=True,
              help="Latency runs per contender and broker (the median is reported).")  # fmt: skip
@click.option("--no-peer", is_flag=True, help="Skip Quix Streams (its virtualenv needs PyPI).")
@click.option("--no-mock", is_flag=True, help="Skip the latency runs on librdkafka's mock cluster.")
@click.option("--profile", "profile_only", is_flag=True,
              help="Only profile our throughput run (cProfile, by own time).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def processor(
    messages: int, rate: int, seconds: float, warmup: float, rounds: int, no_peer: bool,
    no_mock: bool, profile_only: bool, as_json: bool,
) -> None:  # fmt: skip
    """Processor msg/s per core: ours vs Quix Streams vs a bare loop; latency at a steady rate."""
    from streaming.bench import processor as processor_bench

    if profile_only:
        click.echo(processor_bench.profile(messages))
        return
    figures = processor_bench.run(messages, rate=rate, seconds=seconds, warmup_s=warmup,
                                  rounds=rounds, peer=not no_peer, mock=not no_mock,
                                  echo=not as_json)  # fmt: skip
    if as_json:
        click.echo(json.dumps(processor_bench.json_figures(figures)))


@bench.command()
@click.option("-n", "--messages", type=int, default=200_000, show_default=True,
              help="Trade envelopes the sink stores from Kafka.")  # fmt: skip
@click.option("--query-rows", type=int, default=10_000_000, show_default=True,
              help="Trades and yield rates generated for the query latencies.")  # fmt: skip
@click.option("--rounds", type=int, default=5, show_default=True, help="Runs of each query.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def sink(messages: int, query_rows: int, rounds: int, as_json: bool) -> None:
    """ClickHouse sink rows/s on one core vs raw chDB; the two design-record queries' latency."""
    from streaming.bench import sink as sink_bench

    figures = sink_bench.run(messages, query_rows, rounds, echo=not as_json)
    if as_json:
        click.echo(json.dumps(figures))


@bench.command()
@click.option("--rate", type=int, default=5000, show_default=True,
              help="Steady rate of price updates on market.prices.all (quotes/s).")  # fmt: skip
@click.option("--seconds", type=Finite(min=0, min_open=True), default=20.0, show_default=True,
              help="Measured span of each latency run, after --warmup.")  # fmt: skip
@click.option("--warmup", type=Finite(min=0), default=5.0, show_default=True,
              help="Seconds of each latency run not counted end to end.")  # fmt: skip
@click.option("--rounds", type=int, default=1, show_default=True,
              help="Runs per contender and broker (the median is reported).")  # fmt: skip
@click.option("--no-mock", is_flag=True, help="Skip the runs on librdkafka's mock cluster.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def apps(
    rate: int, seconds: float, warmup: float, rounds: int, no_mock: bool, as_json: bool
) -> None:
    """Arbitrage detection latency in the worker and end to end vs a pass-through baseline."""
    from streaming.bench import apps as apps_bench

    figures = apps_bench.run(rate=rate, seconds=seconds, warmup_s=warmup, rounds=rounds,
                             mock=not no_mock, echo=not as_json)  # fmt: skip
    if as_json:
        click.echo(json.dumps(apps_bench.json_figures(figures)))


COMMANDS = [bench]
