"""Processor benchmark: our worker vs a Quix Streams application vs a bare loop, same input.

One run, one local broker (Tansu), one input: ``messages`` simulator envelopes (prices, trades,
order books, DeFi, with the simulator's anomalies: duplicates, outliers, late and malformed
messages) produced once to the raw topics. Then, in turn, each contender reads all of it from
the start in its own consumer group and process, pinned to one core (the broker keeps both):

- **ours**: the processor worker (``streaming.bench.contenders ours``);
- **peer**: a Quix Streams application calling the very same ``MarketProcessor`` per record,
  in its own virtualenv (its pins clash with ours: ``streaming.bench.peer_env``);
- **ceiling**: a bare consume → decode → encode → produce loop, no stages.

Rate = records / seconds from the first record in hand to everything produced, flushed and
committed; with one core that is msg/s per core (CPU seconds are reported beside it).

Latency: records produced at a steady ``rate`` msg/s (10 ms bursts) while one contender runs,
timed from ``produce()`` to the output being consumed (matched by message id), first through a
bare pass-through loop (the baseline: broker and clients alone), then through ours. Samples
from the first ``warmup_s`` seconds are dropped. Run on the local broker and on librdkafka's
in-process mock cluster (``test.mock.num.brokers``), which has no disk or network stack
behind it: the difference between the two is the broker's own latency.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from confluent_kafka import Consumer, Producer

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings
from lucent_platform.simulator import MarketSimulator, SimulatorConfig
from lucent_platform.stack import services
from lucent_platform.stack.ports import LOOPBACK, free_port
from lucent_platform.topics import DEADLETTER, RAW_PARTITIONS, Kind, TopicSpec, fixed_topics
from lucent_platform.topics import normalized as normalized_topic
from streaming.bench.contenders import next_batch

REPO = Path(__file__).resolve().parents[2]
TICK_MS = 50


class _Header(msgspec.Struct, rename="camel"):
    message_id: str


class _Probe(msgspec.Struct):
    header: _Header


_probe = msgspec.json.Decoder(_Probe)


def message_id(value: bytes) -> str | None:
    """The envelope's message id, or None for bytes that are not an envelope."""
    try:
        return _probe.decode(value).header.message_id
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


@dataclass(frozen=True)
class Record:
    topic: str
    key: bytes | None
    value: bytes
    message_id: str | None


def simulated(messages: int, seed: int = 7) -> list[Record]:
    """``messages`` raw records from the simulator (all kinds, anomalies included)."""
    start = time.time_ns() // 1_000_000 - 3_600_000
    simulator = MarketSimulator(SimulatorConfig(seed=seed), start_ms=start)
    records: list[Record] = []
    now = start
    while len(records) < messages:
        now += TICK_MS
        for m in simulator.step(now):
            records.append(Record(m.topic, m.key, m.value, message_id(m.value)))
    return records[:messages]


# --- contenders in their own processes ---------------------------------------------------


@dataclass
class Contender:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


def contender(name: str, bootstrap: str, group: str, expect: int | None) -> Contender:
    argv = [sys.executable, "-m", "streaming.bench.contenders", name,
            "--bootstrap", bootstrap, "--group", group]  # fmt: skip
    if expect is not None:
        argv += ["--expect", str(expect)]
    return Contender(name, argv)


def quix_contender(
    python: Path, bootstrap: str, group: str, expect: int, topics: Sequence[str]
) -> Contender:
    argv = [str(python), "-m", "streaming.bench.quix_peer", "--bootstrap", bootstrap,
            "--group", group, "--expect", str(expect)]  # fmt: skip
    for topic in topics:
        argv += ["--topic", topic]
    return Contender("peer", argv, {"PYTHONPATH": str(REPO)})


def _core() -> set[int] | None:
    if not hasattr(os, "sched_getaffinity"):
        return None
    return {max(os.sched_getaffinity(0))}


@contextmanager
def started(c: Contender, logs: Path) -> Iterator[subprocess.Popen[str]]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **c.env}
    with (logs / f"{c.name}-{uuid.uuid4().hex[:6]}.log").open("w") as stderr:
        proc = subprocess.Popen(c.argv, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                stderr=stderr, text=True)  # fmt: skip
        core = _core()
        if core is not None:
            os.sched_setaffinity(proc.pid, core)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _result(proc: subprocess.Popen[str], name: str, logs: Path) -> dict[str, Any]:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("{"):
            return dict(json.loads(line))
    proc.wait()
    raise RuntimeError(f"{name} ended (exit {proc.returncode}) without a result; see {logs}")


def throughput(c: Contender, logs: Path, timeout: float = 900.0) -> dict[str, Any]:
    with started(c, logs) as proc:
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            result = _result(proc, c.name, logs)
        finally:
            timer.cancel()
        proc.wait()
    result["msg_per_s"] = result["processed"] / result["seconds"] if result["seconds"] else 0.0
    cpu = result.get("cpu_seconds") or 0.0
    result["msg_per_cpu_s"] = result["processed"] / cpu if cpu else 0.0
    return result


# --- latency at a steady rate ------------------------------------------------------------


class _Outputs(threading.Thread):
    """Consumes a contender's output topics, matching each record to its send time by the
    input's message id ``key_of`` finds in the output (its own id: a pass-through)."""

    def __init__(
        self,
        bootstrap: str,
        topics: list[str],
        sent: dict[str, float],
        key_of: Callable[[bytes], str | None] = message_id,
    ) -> None:
        super().__init__(daemon=True)
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap, "group.id": f"bench-latency-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "latest", "enable.auto.commit": False,
            "fetch.wait.max.ms": 10, "fetch.min.bytes": 1,
        })  # fmt: skip
        self.consumer.subscribe(topics)
        self.sent = sent
        self.key_of = key_of
        self.latencies: list[tuple[float, float]] = []  # (sent at, ms)
        self.halt = threading.Event()

    def wait_assigned(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.consumer.assignment():
            if time.monotonic() > deadline:
                raise RuntimeError("the latency consumer got no partitions")
            self.consumer.poll(0.1)
        for _ in range(10):  # resolve its "latest" positions before anything is sent
            self.consumer.poll(0.1)

    def run(self) -> None:
        sent, out, key_of = self.sent, self.latencies, self.key_of
        while not self.halt.is_set():
            for m in next_batch(self.consumer, 1000, 0.05):
                now = time.time()
                if m.error() is not None:
                    continue
                mid = key_of(m.value() or b"")
                at = sent.get(mid) if mid is not None else None
                if at is not None:
                    out.append((at, (now - at) * 1000.0))
        self.consumer.close()


def _wait_ready(proc: subprocess.Popen[str], name: str, logs: Path, timeout: float = 60.0) -> None:
    assert proc.stdout is not None
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    if not result or result[0].strip() != "ready":
        raise RuntimeError(f"{name} did not get its partitions within {timeout:.0f} s; see {logs}")


def latency(
    c: Contender,
    bootstrap: str,
    outputs: list[str],
    records: Sequence[Record],
    logs: Path,
    *,
    rate: int,
    seconds: float,
    warmup_s: float,
    key_of: Callable[[bytes], str | None] = message_id,
) -> dict[str, Any]:
    """Steady ``rate`` msg/s for ``warmup_s + seconds`` through contender ``c``; ``report``
    is the JSON line the contender printed at exit, if any (its own figures)."""
    sent: dict[str, float] = {}
    reader = _Outputs(bootstrap, outputs, sent, key_of)
    reader.wait_assigned()
    reader.start()
    producer = Producer({**Settings(_env_file=None).producer_config(bootstrap)})  # type: ignore[call-arg]
    with started(c, logs) as proc:
        _wait_ready(proc, c.name, logs)
        time.sleep(1.0)
        per_tick = max(1, rate // 100)
        start = time.monotonic()
        measured_from = time.time() + warmup_s
        total = int(rate * (warmup_s + seconds))
        i = 0
        while i < total:
            for r in records[i : i + per_tick]:
                if r.message_id is not None:
                    sent[r.message_id] = time.time()
                producer.produce(r.topic, r.value, r.key)
            i += per_tick
            producer.poll(0)
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        producer.flush(30)
        time.sleep(3.0)  # stragglers
        proc.terminate()
        proc.wait(30)
        report = _last_json(proc)
    reader.halt.set()
    reader.join(10)
    window = sorted(ms for at, ms in reader.latencies if at >= measured_from)
    expected = sum(1 for r in records[:total] if r.message_id is not None)
    return {
        "p50_ms": _quantile(window, 0.50), "p99_ms": _quantile(window, 0.99),
        "max_ms": window[-1] if window else 0.0, "samples": len(window),
        "matched": len(reader.latencies), "sent_with_id": expected, "report": report,
    }  # fmt: skip


def _last_json(proc: subprocess.Popen[str]) -> dict[str, Any] | None:
    """The last JSON line a finished contender printed (None: it printed none)."""
    if proc.stdout is None:
        return None
    lines = [line for line in proc.stdout.read().splitlines() if line.startswith("{")]
    return dict(json.loads(lines[-1])) if lines else None


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(q * len(values)))]


# --- the run -----------------------------------------------------------------------------


def _produce_all(bootstrap: str, records: Sequence[Record]) -> None:
    producer = Producer({**Settings(_env_file=None).producer_config(bootstrap)})  # type: ignore[call-arg]
    for r in records:
        while True:
            try:
                producer.produce(r.topic, r.value, r.key)
                break
            except BufferError:
                producer.poll(0.05)
    if producer.flush(120):
        raise RuntimeError("the benchmark input was not fully delivered to the broker")


@contextmanager
def local_broker(logs: Path, raw: set[str], records: Sequence[Record]) -> Iterator[str]:
    """A Tansu broker with the catalog's topics, the ``raw`` topics, and ``records`` in them."""
    port = free_port()
    broker = services.kafka_broker(port, logs)
    broker.start()
    try:
        broker.wait_ready()
        bootstrap = f"{LOOPBACK}:{port}"
        settings = Settings(_env_file=None, data_dir=logs)  # type: ignore[call-arg]
        specs = [*fixed_topics(), *(TopicSpec(t, RAW_PARTITIONS) for t in sorted(raw))]
        kafka.provision(kafka.admin(settings, bootstrap), specs, replication_factor=1,
                        min_insync_replicas=1)  # fmt: skip
        _produce_all(bootstrap, records)
        yield bootstrap
    finally:
        broker.stop()


OUTPUTS_OURS = [normalized_topic(kind) for kind in Kind] + [DEADLETTER]
LATENCY_RUNS = (("baseline", "passthrough"), ("ours", "ours"))


@contextmanager
def mock_cluster(topics: set[str]) -> Iterator[str]:
    """librdkafka's mock cluster, alive while the client that made it is; its broker address
    comes from that client's metadata. It has no CreateTopics: one record per topic creates
    them (contenders in latency runs start from the end, so never see it)."""
    holder = Producer({"test.mock.num.brokers": 1, "log_level": 3})
    brokers = holder.list_topics(timeout=10).brokers.values()
    bootstrap = ",".join(f"{b.host}:{b.port}" for b in brokers)
    producer = Producer({"bootstrap.servers": bootstrap})
    for topic in sorted(topics):
        producer.produce(topic, b"prime", b"prime")
    producer.flush(30)
    try:
        yield bootstrap
    finally:
        del producer, holder


def run(
    messages: int = 200_000,
    *,
    rate: int = 5000,
    seconds: float = 20.0,
    warmup_s: float = 5.0,
    rounds: int = 3,
    peer: bool = True,
    mock: bool = True,
    echo: bool = True,
) -> dict[str, Any]:
    """Every measurement in turn, each contender on a fresh broker holding the same input
    (the local broker slows down as it fills, so the order must not favour anyone)."""
    say = print if echo else (lambda *_: None)
    say(f"generating {messages:,} simulator envelopes …")
    records = simulated(messages)
    steady = simulated(int(rate * (seconds + warmup_s)), seed=8)  # other ids: no duplicates
    raw = {r.topic for r in records} | {r.topic for r in steady}
    results: dict[str, Any] = {
        "messages": messages, "rate": rate, "seconds": seconds, "rounds": rounds,
        "mean_bytes": sum(len(r.value) for r in records) / len(records),
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp)
        peer_python = _peer_python(results, say) if peer else None
        for name in ("ours", "peer", "ceiling", "runtime"):
            if name == "peer" and peer_python is None:
                results["peer_run"] = None
                continue
            say(f"{name}: {messages:,} envelopes through a fresh local broker …")
            with local_broker(logs, raw, records) as bootstrap:
                group = f"bench-{name}"
                c = (
                    quix_contender(peer_python, bootstrap, group, messages, sorted(raw))
                    if name == "peer" and peer_python is not None
                    else contender(name, bootstrap, group, messages)
                )
                results[f"{name}_run"] = throughput(c, logs)
        results["tansu"] = _latencies(
            "tansu", raw, steady, logs, rounds, rate, seconds, warmup_s, say
        )
        if mock:
            results["mock"] = _latencies(
                "mock", raw, steady, logs, rounds, rate, seconds, warmup_s, say
            )
    _summarise(results)
    if echo:
        print(format_table(results))
    return results


def _latencies(
    where: str, raw: set[str], steady: Sequence[Record], logs: Path, rounds: int, rate: int,
    seconds: float, warmup_s: float, say: Any,
) -> dict[str, Any]:  # fmt: skip
    """Baseline and ours in turn, ``rounds`` times, each run on a fresh broker; the median of
    the rounds' p50 and p99 (the local broker's tail varies by tens of ms from run to run)."""
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in LATENCY_RUNS}
    for n in range(1, rounds + 1):
        for label, name in LATENCY_RUNS:
            say(f"{where} {n}/{rounds}: {label} at {rate:,} msg/s, {warmup_s + seconds:.0f} s …")
            broker = (
                mock_cluster(raw | set(OUTPUTS_OURS))
                if where == "mock"
                else local_broker(logs, raw, [])
            )
            with broker as bootstrap:
                c = contender(name, bootstrap, f"bench-{name}-latency", None)
                runs[label].append(latency(c, bootstrap, OUTPUTS_OURS, steady, logs, rate=rate,
                                           seconds=seconds, warmup_s=warmup_s))  # fmt: skip
    return {
        label: {
            "p50_ms": statistics.median(r["p50_ms"] for r in rs),
            "p99_ms": statistics.median(r["p99_ms"] for r in rs),
            "max_ms": max(r["max_ms"] for r in rs),
            "samples": sum(r["samples"] for r in rs),
            "rounds": rs,
        }
        for label, rs in runs.items()
    }


def _peer_python(results: dict[str, Any], say: Any) -> Path | None:
    from streaming.bench.peer_env import ensure_peer_env

    say("peer: preparing the Quix Streams virtualenv (.venv-bench) …")
    try:
        return ensure_peer_env(REPO)
    except RuntimeError as exc:
        say(f"peer skipped: {exc}")
        results["peer_error"] = str(exc)
        return None


def _summarise(r: dict[str, Any]) -> None:
    r["ours"] = r["ours_run"]["msg_per_s"]
    r["peer"] = r["peer_run"]["msg_per_s"] if r.get("peer_run") else None
    r["ceiling"] = r["ceiling_run"]["msg_per_s"]
    r["ours_vs_peer"] = r["ours"] / r["peer"] if r["peer"] else None
    r["ours_vs_ceiling"] = r["ours"] / r["ceiling"] if r["ceiling"] else None
    tansu = r["tansu"]
    r["p50_ms"], r["p99_ms"] = tansu["ours"]["p50_ms"], tansu["ours"]["p99_ms"]
    r["baseline_p50_ms"] = tansu["baseline"]["p50_ms"]
    r["baseline_p99_ms"] = tansu["baseline"]["p99_ms"]


def format_table(r: dict[str, Any]) -> str:
    lines = [f"processor benchmark: {r['messages']:,} simulator envelopes "
             f"({r['mean_bytes']:.0f} B mean), each contender on one core of its own, on a "
             "fresh local broker (Tansu) holding the input"]  # fmt: skip
    names = {"ours": "ours", "peer": "peer (Quix Streams)", "ceiling": "ceiling (bare loop)",
             "runtime": "our runtime, no stages"}  # fmt: skip
    for name, title in names.items():
        run = r.get(f"{name}_run")
        if run is None:
            lines.append(f"  {title:<24} not measured ({r.get('peer_error', 'skipped')})")
            continue
        lines.append(f"  {title:<24} {run['msg_per_s']:>9,.0f} msg/s  "
                     f"{run['msg_per_cpu_s']:>9,.0f} msg/CPU-s  "
                     f"({run['processed']:,} in {run['seconds']:.2f} s)")  # fmt: skip
    ratios = []
    if r["ours_vs_peer"]:
        ratios.append(f"ours/peer {r['ours_vs_peer']:.2f}x (goal ≥ 4)")
    ratios.append(f"ours/ceiling {r['ours_vs_ceiling']:.2f}x (goal ≥ 0.7)")
    lines.append("  " + "   ".join(ratios))
    lines.append(f"  end-to-end latency at {r['rate']:,} msg/s (raw produce → output consumed), "
                 f"median of {r['rounds']} rounds of {r['seconds']:.0f} s")  # fmt: skip
    lines.extend(latency_lines(r))
    return "\n".join(lines)


def latency_lines(r: dict[str, Any], label: str = "") -> list[str]:
    """Our worker against the pass-through baseline, on Tansu and on librdkafka's mock
    cluster: the latency rows of this benchmark and of ``lucent bench apps``."""
    lines = []
    for where in ("tansu", "mock"):
        pair = r.get(where)
        if not pair:
            continue
        for name in ("baseline", "ours"):
            x = pair[name]
            lines.append(f"  {where:<6} {name:<9} {label}p50 {x['p50_ms']:7.1f} ms   p99 "
                         f"{x['p99_ms']:7.1f} ms   max {x['max_ms']:7.1f} ms   "
                         f"({x['samples']:,} samples)")  # fmt: skip
        gap = pair["ours"]["p99_ms"] - pair["baseline"]["p99_ms"]
        lines.append(f"  {where:<6} {label}p99 − baseline p99: {gap:+.1f} ms (goal ≤ 5 ms)")
    return lines


def json_figures(r: dict[str, Any]) -> dict[str, Any]:
    """The issue's ``--json`` keys first, then everything measured."""
    keys = ("ours", "peer", "ceiling", "p50_ms", "p99_ms", "baseline_p50_ms", "baseline_p99_ms")
    return {**{k: r[k] for k in keys}, **{k: v for k, v in r.items() if k not in keys}}


def profile(messages: int = 100_000, top: int = 25) -> str:
    """Where our contender's time goes: cProfile of its throughput run, by own time."""
    import io
    import pstats

    records = simulated(messages)
    with (
        tempfile.TemporaryDirectory() as tmp,
        local_broker(Path(tmp), {r.topic for r in records}, records) as bootstrap,
    ):
        stats = Path(tmp) / "ours.prof"
        c = contender("ours", bootstrap, "bench-profile", messages)
        throughput(Contender("ours", [sys.executable, "-m", "cProfile", "-o", str(stats),
                                      *c.argv[1:]]), Path(tmp))  # fmt: skip
        buffer = io.StringIO()
        pstats.Stats(str(stats), stream=buffer).sort_stats("tottime").print_stats(top)
    return buffer.getvalue()
