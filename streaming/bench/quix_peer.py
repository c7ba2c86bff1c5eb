"""The Quix Streams peer of ``lucent bench processor``: our ``MarketProcessor`` in a Quix app.

Runs in its own venv (``peer_env.ensure_peer_env``) with the repository on ``PYTHONPATH``, so
it imports only quixstreams, msgspec and ``lucent_platform.processing``/``topics``:

    PYTHONPATH=. .venv-bench/bin/python -m streaming.bench.quix_peer \\
        --bootstrap 127.0.0.1:9092 --group bench-quix --expect 200000 \\
        --topic market.prices.binance.btc-usdt --topic market.trades.binance.btc-usdt ...

Without ``--topic``, it reads every existing topic matching ``--topics-regex`` (by default the
raw prices, trades and orderbook topics). Each input message becomes an ``InRecord`` (topic,
partition and offset from Quix's message context; key, value and timestamp as consumed, key
and value as raw bytes) and goes through ``MarketProcessor.process_one``; a duplicate is
filtered out, anything else is produced with its key and headers to the topic its ``Output``
names (``market.{kind}.all`` or ``market.deadletter``), by ``to_topic`` with a topic-choosing
callable, Quix's own way to route one stream to several topics.

Settings: Quix's defaults, as its docs recommend for production, none tuned: at-least-once
processing, a checkpoint (producer flush, then offset commit) every 5 s (``commit_interval``,
``commit_every=0``), an idempotent producer (``enable.idempotence``), ``fetch.queue.backoff.ms``
100, the ``range`` assignor, 1 s consumer poll timeout, ``max_partition_buffer_size`` 10,000,
librdkafka's defaults otherwise. Only ``auto_offset_reset="earliest"`` (the input is produced
before the peer starts) and ``auto_create_topics=False`` (the bench creates every topic as our
catalog specifies; Quix would otherwise create missing outputs with its own defaults) are set,
and ``state_dir`` is a temporary directory (the app keeps no state, but Quix makes the folder).

After ``--expect`` input messages were processed the app is stopped; ``run()`` then flushes the
producer and commits offsets, and one JSON line goes to stdout: ``processed``, ``outputs``,
``first_record_wall`` and ``done_wall`` (``time.time()``), ``seconds`` (``perf_counter``, first
record to ``run()`` returned), ``cpu_seconds`` (this process's CPU over the same span) and
``quixstreams`` (its version). Quix logs to stderr.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from lucent_platform.processing import InRecord, MarketProcessor, Output, ProcessorConfig
from lucent_platform.topics import DEADLETTER, Kind, normalized, raw_pattern

RAW_KINDS = tuple(Kind)  # the same input as our processor: every raw family
DEFAULT_REGEX = "|".join(f"({raw_pattern(kind)})" for kind in RAW_KINDS)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="streaming.bench.quix_peer", description=__doc__)
    parser.add_argument("--bootstrap", required=True, help="HOST:PORT of the broker")
    parser.add_argument("--group", required=True, help="the consumer group")
    parser.add_argument("--expect", type=int, required=True, help="input messages to process")
    parser.add_argument(
        "--topic", action="append", default=[], help="an input topic (repeat for several)"
    )
    parser.add_argument(
        "--topics-regex",
        default=DEFAULT_REGEX,
        help="without --topic: read every existing topic matching this (POSIX-style) regex",
    )
    return parser.parse_args(argv)


def existing_topics(bootstrap: str, regex: str) -> list[str]:
    """The broker's topics matching ``regex`` (Quix subscribes to names, not patterns)."""
    from confluent_kafka.admin import AdminClient  # quixstreams' own Kafka client

    names = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=30).topics
    return sorted(name for name in names if re.search(regex, name))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    import quixstreams
    from quixstreams.models.serializers import SerializationContext, Serializer

    class OutputValue(Serializer):
        """An ``Output``'s value bytes, produced as they are."""

        def __call__(self, value: Output, ctx: SerializationContext) -> bytes:
            return value.value

    inputs = args.topic or existing_topics(args.bootstrap, args.topics_regex)
    if not inputs:
        print(f"no input topics match {args.topics_regex!r}", file=sys.stderr)
        return 2

    def processed(topic: str, partition: int, offset: int) -> None:
        stats["processed"] += 1
        if stats["processed"] == args.expect:
            app.stop()  # run() then flushes the producer and commits the offsets

    processor = MarketProcessor(ProcessorConfig(), clock_ms=lambda: time.time_ns() // 1_000_000)
    assigned: set[tuple[str, int]] = set()
    stats: dict[str, Any] = {"processed": 0, "outputs": 0}

    def process(value: bytes | None, key: bytes | None, timestamp: int, _: Any) -> Output | None:
        ctx = quixstreams.message_context()
        owner = (ctx.topic, ctx.partition)
        if owner not in assigned:
            # Quix has no public on-assign hook: state starts fresh on a partition's first record
            if not assigned:
                stats["t0"] = time.perf_counter()
                stats["wall0"] = time.time()
                stats["cpu0"] = time.process_time()
            assigned.add(owner)
            processor.assigned([owner])
        out = processor.process_one(
            InRecord(ctx.topic, ctx.partition, ctx.offset, timestamp, key, value)
        )
        if out is not None:
            stats["outputs"] += 1
        return out

    state = tempfile.TemporaryDirectory(prefix="quix-peer-")  # unused (stateless) but made
    app = quixstreams.Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        auto_create_topics=False,
        on_message_processed=processed,
        state_dir=state.name,
    )
    outputs = {
        name: app.topic(name, key_serializer="bytes", value_serializer=OutputValue())
        for name in [normalized(kind) for kind in RAW_KINDS] + [DEADLETTER]
    }
    for name in inputs:
        sdf = app.dataframe(app.topic(name, key_deserializer="bytes", value_deserializer="bytes"))
        sdf = sdf.apply(process, metadata=True).filter(lambda out: out is not None)
        sdf = sdf.set_headers(lambda out, key, timestamp, headers: list(out.headers))
        sdf.to_topic(lambda out, key, timestamp, headers: outputs[out.topic], key=lambda o: o.key)
    with state:
        app.run()
    t1, wall1, cpu1 = time.perf_counter(), time.time(), time.process_time()
    if "t0" not in stats:
        print("no record was processed", file=sys.stderr)
        return 1
    report = {
        "processed": stats["processed"],
        "outputs": stats["outputs"],
        "first_record_wall": stats["wall0"],
        "done_wall": wall1,
        "seconds": t1 - stats["t0"],
        "cpu_seconds": cpu1 - stats["cpu0"],
        "quixstreams": quixstreams.__version__,
    }
    print(json.dumps(report), flush=True)
    return 0 if stats["processed"] >= args.expect else 1


if __name__ == "__main__":
    sys.exit(main())
