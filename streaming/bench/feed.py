"""Feed throughput: recorded exchange frames → envelopes → Kafka, on one core.

Input is real recorded traffic (by default the repository's ``tests/fixtures/market``: Binance
trades and depth with REST snapshots, Coinbase tickers/matches/l2, Kraken tickers/trades/books),
replayed in rounds through fresh connectors until at least ``frames`` frames were fed. Measured
in one process pinned to one core, in turn:

- ``ccxt parse``: ccxt's own ``handle_message`` on the Binance trade frames (the parsing we build
  on, ending in ccxt's unified trades): the ceiling of the parse stage for those frames;
- ``ours, parse``: ``Connector.parse`` (ccxt + our checks and envelopes) on the same frames;
- ``ours, all venues``: ``Connector.parse`` over every venue's frames;
- ``ours → Kafka``: the replay feed into the local broker (encode, idempotent produce, flush);
- ``produce only``: the same envelopes pre-encoded, produced and flushed (the Kafka ceiling).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lucent_platform.config import Settings
from lucent_platform.connectors import RawFrame, connector_for
from lucent_platform.envelope import Envelope, encode
from lucent_platform.recordings import read_recordings
from lucent_platform.stack import services
from lucent_platform.stack.ports import LOOPBACK, free_port
from lucent_platform.topics import partition_key, raw_topic
from streaming.feeds.replay import Replayer
from streaming.publisher import Publisher

DEFAULT_INPUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "market"


def pin_to_one_core(spare: int | None = None) -> int | None:
    """Run this process on one core (the last), so figures are per core; the broker
    (``spare``, a child pid) keeps every core, as a broker on its own machine would."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cores = os.sched_getaffinity(0)
    core = max(cores)
    os.sched_setaffinity(0, {core})
    if spare is not None:
        os.sched_setaffinity(spare, cores)
    return core


def _rounds(frames: list[RawFrame], total: int) -> int:
    return max(1, -(-total // max(1, len(frames))))


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def _timed(run: Callable[[], int]) -> tuple[int, float]:
    start = time.perf_counter()
    count = run()
    return count, time.perf_counter() - start


def ccxt_parse(frames: list[RawFrame], rounds: int) -> int:
    """ccxt's handle_message alone over the frames (Binance only), fresh instance per round."""
    handled = 0
    for _ in range(rounds):
        connector = connector_for("binance")
        for frame in frames:
            with contextlib.suppress(Exception):  # ccxt raises on frames it cannot use
                connector.handle(frame.message)
            handled += 1
    return handled


def ours_parse(frames: list[RawFrame], rounds: int) -> int:
    envelopes = 0
    for _ in range(rounds):
        connectors: dict[str, Any] = {}
        for frame in frames:
            connector = connectors.get(frame.exchange) or connectors.setdefault(
                frame.exchange, connector_for(frame.exchange)
            )
            envelopes += len(connector.parse(frame).envelopes)
    return envelopes


def run(
    input_path: Path = DEFAULT_INPUT, frames: int = 100_000, echo: bool = True
) -> dict[str, Any]:
    recorded = [f for f in read_recordings(input_path) if isinstance(f, RawFrame)]
    # ccxt fully parses trade frames on its own (a depth update without ccxt's book state is
    # dropped early), so the like-for-like comparison with ccxt is on Binance trades.
    binance = [f for f in recorded if f.exchange == "binance" and "aggTrade" in str(f.message)[:40]]
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        broker = services.kafka_broker(port, Path(tmp))
        broker.start()
        try:
            broker.wait_ready()
            core = pin_to_one_core(spare=broker.pid)
            connector_for("binance")  # warm ccxt's import and markets cache outside the timings
            results: dict[str, Any] = {
                "input": str(input_path), "frames_per_round": len(recorded), "core": core,
            }  # fmt: skip
            results.update(_parse_rates(binance, recorded, frames))
            settings = Settings(_env_file=None, data_dir=Path(tmp))  # type: ignore[call-arg]
            bootstrap = f"{LOOPBACK}:{port}"
            results.update(_to_kafka(settings, bootstrap, recorded, _rounds(recorded, frames)))
        finally:
            broker.stop()
    results["ratio_ours_parse_vs_ccxt"] = (
        results["ours_parse_binance_frames_per_s"] / results["ccxt_parse_frames_per_s"]
    )
    results["ratio_to_kafka_vs_produce_only"] = (
        results["ours_to_kafka_envelopes_per_s"] / results["produce_only_envelopes_per_s"]
    )
    if echo:
        print(format_table(results))
    return results


def _parse_rates(
    binance: list[RawFrame], recorded: list[RawFrame], frames: int
) -> dict[str, float]:
    rounds = _rounds(binance, frames)
    n, s = _timed(lambda: ccxt_parse(binance, rounds))
    results = {"ccxt_parse_frames_per_s": _rate(n, s)}
    n, s = _timed(lambda: ours_parse(binance, rounds))
    results["ours_parse_binance_frames_per_s"] = _rate(len(binance) * rounds, s)
    results["ours_parse_binance_envelopes_per_s"] = _rate(n, s)
    n, s = _timed(lambda: ours_parse(recorded, _rounds(recorded, frames)))
    results["ours_parse_all_envelopes_per_s"] = _rate(n, s)
    return results


def _to_kafka(
    settings: Settings, bootstrap: str, recorded: list[RawFrame], rounds: int
) -> dict[str, float]:
    publisher = Publisher(settings, bootstrap)
    envelopes: list[Envelope[Any]] = []
    replayer = Replayer(envelopes.append)
    replayer.run(recorded)  # one untimed round: creates the topics, collects envelopes
    publisher.ensure_topics({raw_topic(e.header.message_type, e.data) for e in envelopes})

    def feed() -> int:
        sent = 0
        for _ in range(rounds):
            counter = Replayer(publisher.publish_envelope)
            sent += counter.run(recorded).envelopes
        publisher.flush(120)
        return sent

    n, s = _timed(feed)
    encoded = [
        (raw_topic(e.header.message_type, e.data), partition_key(e.header.message_type, e.data),
         encode(e))
        for e in envelopes
    ]  # fmt: skip

    def produce_only() -> int:
        sent = 0
        for _ in range(rounds):
            for topic, key, value in encoded:
                publisher.publish(topic, key, value)
                sent += 1
        publisher.flush(120)
        return sent

    m, t = _timed(produce_only)
    failed = publisher.counts["failed"]
    return {
        "ours_to_kafka_envelopes_per_s": _rate(n, s),
        "produce_only_envelopes_per_s": _rate(m, t),
        "envelopes_to_kafka": n,
        "delivery_failures": failed,
    }


def format_table(r: dict[str, Any]) -> str:
    rows = [
        ("ccxt parse (binance trades)", r["ccxt_parse_frames_per_s"], "frames/s"),
        ("ours, parse (binance trades)", r["ours_parse_binance_frames_per_s"], "frames/s"),
        ("ours, parse (all venues)", r["ours_parse_all_envelopes_per_s"], "envelopes/s"),
        ("ours → Kafka (replay feed)", r["ours_to_kafka_envelopes_per_s"], "envelopes/s"),
        ("produce only (pre-encoded)", r["produce_only_envelopes_per_s"], "envelopes/s"),
    ]
    lines = [f"feed benchmark, one core (cpu {r['core']}), {r['frames_per_round']} recorded "
             f"frames per round from {r['input']}"]  # fmt: skip
    lines += [f"  {name:<30} {value:>12,.0f} {unit}" for name, value, unit in rows]
    lines.append(f"  ours/ccxt parse: {r['ratio_ours_parse_vs_ccxt']:.2f}x   "
                 f"ours→Kafka / produce-only: {r['ratio_to_kafka_vs_produce_only']:.2f}x   "
                 f"delivery failures: {r['delivery_failures']}")  # fmt: skip
    return "\n".join(lines)
