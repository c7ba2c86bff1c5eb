"""The processor benchmark's contenders, each run in its own process by ``lucent bench processor``.

``python -m streaming.bench.contenders NAME --bootstrap HOST:PORT --group G`` with NAME one of

- ``ours``: the processor worker as ``lucent worker processor`` runs it (the micro-batch
  runtime, at-least-once, around ``MarketProcessor``);
- ``ceiling``: the fastest bare loop over the same libraries with no stages: batched
  ``consume``, ``decode`` (the topic's kind first, as ours) → ``encode`` → ``produce``,
  librdkafka's auto-commit, nothing counted, nothing validated;
- ``runtime``: our runtime with no stages (each record as it came, to its kind's
  ``market.{kind}.all``): what the runtime itself costs;
- ``passthrough``: consume → produce the same bytes, key and all, to the topic ours writes
  them to (``market.{kind}.all`` by the raw topic's name; no decoding),
  the latency baseline: what the broker and the clients cost without any stage.

With ``--expect N`` a contender reads the raw topics from the start and stops after N records;
without it, it reads from the end until SIGTERM/SIGINT (the latency runs). It prints ``ready``
once partitions are assigned, then one JSON line: ``processed``, ``outputs``, ``seconds``
(first record in hand → everything produced, flushed and committed, consumer closed),
``cpu_seconds`` (this process's CPU time, all threads, over the same span) and ``ready_wall``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from contextlib import suppress

from confluent_kafka import Consumer, KafkaException, Message, Producer

from lucent_platform.config import Settings
from lucent_platform.envelope import EnvelopeError, decode, encode
from lucent_platform.processing.config import ProcessorConfig
from lucent_platform.processing.normalize import OUTPUT_TOPIC, Route, route
from lucent_platform.processing.pipeline import InRecord, MarketProcessor, Output, Result
from lucent_platform.topics import DEADLETTER, Kind, normalized, raw_pattern
from streaming.lifecycle import StopSignal
from streaming.runtime.loop import run_worker, tune_gc_for_streaming
from streaming.runtime.metrics import WorkerMetrics


def passthrough_topic(topic: str) -> str:
    """Where a record goes with no stages: its raw family's normalized topic, as ours."""
    kind = route(topic).kind
    return DEADLETTER if kind is None else normalized(kind)


SUBSCRIPTION = [raw_pattern(kind) for kind in Kind]


class _Span:
    """First record in hand → done, in wall, monotonic and CPU time."""

    def __init__(self) -> None:
        self.started = False
        self.t0 = self.cpu0 = 0.0
        self.ready_wall = 0.0

    def ready(self) -> None:
        if not self.ready_wall:
            self.ready_wall = time.time()
            print("ready", flush=True)

    def start(self) -> None:
        if not self.started:
            self.started = True
            self.t0, self.cpu0 = time.perf_counter(), time.process_time()

    def report(self, processed: int, outputs: int) -> None:
        seconds = time.perf_counter() - self.t0 if self.started else 0.0
        cpu = time.process_time() - self.cpu0 if self.started else 0.0
        print(json.dumps({
            "processed": processed, "outputs": outputs, "seconds": seconds,
            "cpu_seconds": cpu, "ready_wall": self.ready_wall,
        }), flush=True)  # fmt: skip


class _Timed:
    """``MarketProcessor`` as the runtime sees it, noting the first record and assignment."""

    def __init__(self, processor: MarketProcessor | _PassThrough, span: _Span) -> None:
        self.processor, self.span = processor, span

    def assigned(self, partitions: Iterable[tuple[str, int]]) -> None:
        self.processor.assigned(partitions)
        self.span.ready()

    def revoked(self, partitions: Iterable[tuple[str, int]]) -> None:
        self.processor.revoked(partitions)

    def process(self, batch: Sequence[InRecord]) -> Result:
        if batch:
            self.span.start()
        return self.processor.process(batch)


class _PassThrough:
    """No stages: each record as it came, to its normalized topic (the runtime's own cost)."""

    def __init__(self) -> None:
        self.topics: dict[str, str] = {}

    def assigned(self, partitions: Iterable[tuple[str, int]]) -> None:
        pass

    def revoked(self, partitions: Iterable[tuple[str, int]]) -> None:
        pass

    def process(self, batch: Sequence[InRecord]) -> Result:
        topics = self.topics
        outputs = [
            Output(
                topics.get(r.topic) or topics.setdefault(r.topic, passthrough_topic(r.topic)),
                r.key,
                r.value or b"",
            )
            for r in batch
        ]
        return Result(outputs, Counter({"in": len(batch), "normalized": len(batch)}))


def run_ours(
    bootstrap: str, group: str, expect: int | None, stop: StopSignal, *, stages: bool = True
) -> None:
    span = _Span()
    processor = (
        MarketProcessor(ProcessorConfig(), clock_ms=lambda: time.time_ns() // 1_000_000)
        if stages
        else _PassThrough()
    )

    def on_batch(metrics: WorkerMetrics) -> None:
        if expect is not None and metrics.counts["consumed"] >= expect:
            stop.set()

    metrics = run_worker(
        Settings(_env_file=None),  # type: ignore[call-arg]
        bootstrap,
        group_id=group,
        subscribe=SUBSCRIPTION,
        processor=_Timed(processor, span),
        stop=stop,
        on_batch=on_batch,
        consumer_config={
            "auto.offset.reset": "earliest" if expect is not None else "latest",
            "topic.metadata.refresh.interval.ms": 3000,
        },
    )
    span.report(metrics.counts["consumed"], metrics.counts["produced"])


def next_batch(consumer: Consumer, size: int, idle_timeout: float) -> list[Message]:
    """Wait for one record, then take what is already fetched (``consume(n, t)`` alone would
    hold a record up to ``t`` while fewer than ``n`` are there: the runtime's way too)."""
    first = consumer.poll(idle_timeout)
    if first is None:
        return []
    return [first, *consumer.consume(size - 1, 0)]


def _clients(bootstrap: str, group: str, expect: int | None) -> tuple[Consumer, Producer]:
    """The platform's client configs (as ours gets them), with librdkafka's auto-commit."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    consumer = Consumer({
        **settings.consumer_config(bootstrap, group),
        "enable.auto.commit": True, "enable.auto.offset.store": True,
        "auto.offset.reset": "earliest" if expect is not None else "latest",
    })  # fmt: skip
    return consumer, Producer(settings.producer_config(bootstrap))


def run_bare(
    bootstrap: str, group: str, expect: int | None, stop: StopSignal, *, stages: bool
) -> None:
    """The ceiling (``stages``: decode → encode) or the pass-through baseline (bytes as read)."""
    span = _Span()
    consumer, producer = _clients(bootstrap, group, expect)
    consumer.subscribe(SUBSCRIPTION, on_assign=lambda _c, _p: span.ready())
    routes: dict[str, Route] = {}
    targets: dict[str, str] = {}
    produce = producer.produce
    processed = 0
    try:
        while not stop.stopped and (expect is None or processed < expect):
            for m in next_batch(consumer, 1000, 0.1):
                if m.error() is not None:  # e.g. a subscribed pattern with no topic yet
                    continue
                span.start()
                value, key, topic = m.value() or b"", m.key(), m.topic() or ""
                processed += 1
                if not stages:
                    out = targets.get(topic) or targets.setdefault(topic, passthrough_topic(topic))
                else:
                    path = routes.get(topic) or routes.setdefault(topic, route(topic))
                    try:
                        envelope = decode(value, path.likely)
                        out = OUTPUT_TOPIC[envelope.header.message_type]
                        value = encode(envelope)
                    except (EnvelopeError, KeyError):
                        out = DEADLETTER
                try:
                    produce(out, value, key)
                except BufferError:  # librdkafka's queue is full: let it drain a little
                    while len(producer) > 50_000:
                        producer.poll(0.005)
                    produce(out, value, key)
            producer.poll(0)
        producer.flush(60.0)
        with suppress(KafkaException):  # nothing stored to commit
            consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    span.report(processed, processed)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m streaming.bench.contenders")
    parser.add_argument("name", choices=["ours", "runtime", "ceiling", "passthrough"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--expect", type=int, default=None)
    args = parser.parse_args(argv)
    stop = StopSignal().install()
    if args.name == "ours":
        tune_gc_for_streaming()  # as `lucent worker processor` does
    if args.name in ("ours", "runtime"):
        run_ours(args.bootstrap, args.group, args.expect, stop, stages=args.name == "ours")
    else:
        run_bare(args.bootstrap, args.group, args.expect, stop, stages=args.name == "ceiling")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
