"""Window state survives a crash: a windowed worker killed with SIGKILL mid-stream and
restarted produces the same windows as an uninterrupted run (DESIGN.md decision 4).

The worker runs as ``python -m tests.test_signals_restart …`` (``child_main``): the
``CountMean`` test app over a scripted two-partition stream (out-of-order events within the
grace, late ones, three keys per partition, then one far-future event per partition that
closes everything). Its first incarnation kills itself before a batch (the eighth, or three
after both partitions began), with windows open whose first records are committed; the
restart must rebuild them from the checkpoints by re-reading input. The reference is the
pure app run over each partition's records in one go. At-least-once: equal after
de-duplication by the windows' message ids (every repeat identical); exactly-once (killed
between transactions): equal exactly.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import msgspec
import pytest

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings
from lucent_platform.processing.deadletter import DeadLetter
from lucent_platform.processing.pipeline import InRecord, Result
from lucent_platform.signals import WindowSpec
from lucent_platform.topics import TopicSpec
from streaming.lifecycle import StopSignal
from streaming.runtime import run_worker
from tests.signal_apps import CountMean, event
from tests.test_runtime_loop import EARLIEST, create_topics, read_values

ROOT = Path(__file__).resolve().parent.parent
SPEC = WindowSpec(5000, grace_ms=2000, idle_ms=10**9)  # no wall-clock closing: deterministic
KILL_AT_BATCH = 8
PER_PARTITION = 400


def script() -> dict[int, list[bytes]]:
    """Per partition, the values in offset order."""
    out: dict[int, list[bytes]] = {0: [], 1: []}
    for p in (0, 1):
        for i in range(PER_PARTITION):
            key = f"k{p}{i % 3}"
            t = 1_700_000_000_000 + 250 * i
            if i % 11 == 0:
                t -= 1500  # out of order, within the grace
            if i % 37 == 0 and i > 40:
                t -= 9000  # late: its window closed already
            out[p].append(event(key, t, float(i % 17)))
        out[p].append(event("flush", 1_800_000_000_000, 0.0))
    return out


def reference() -> tuple[list[bytes], set[tuple[int, int]]]:
    """Window outputs and late (partition, offset) of an uninterrupted pure run."""
    windows: list[bytes] = []
    late: set[tuple[int, int]] = set()
    for p, values in script().items():
        app = CountMean("out", SPEC, clock_ms=lambda: 0, late_topic="late")
        app.assigned([("in", p)])
        batch = [InRecord("in", p, i, 0, None, v) for i, v in enumerate(values)]
        for o in app.process(batch).outputs:
            if o.topic == "out":
                windows.append(o.value)
            else:
                letter = msgspec.json.decode(o.value, type=DeadLetter)
                late.add((letter.source_partition, letter.source_offset))
    return windows, late


class Crashing(CountMean):
    def __init__(self, out: str, late: str, kill_at: int) -> None:
        super().__init__(out, SPEC, clock_ms=lambda: time.time_ns() // 1_000_000, late_topic=late)
        self.kill_at = kill_at
        self.batches = 0
        self.seen: set[int] = set()
        self.both_at = 0  # batches when both partitions had begun

    def process(self, batch: Sequence[InRecord]) -> Result:
        if batch:
            self.batches += 1
            self.seen.update(r.partition for r in batch)
            if len(self.seen) == 2 and not self.both_at:
                self.both_at = self.batches
            time.sleep(0.05)  # a few checkpoints get written before the kill
        if 0 <= self.kill_at <= self.batches and 0 < self.both_at <= self.batches - 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().process(batch)


def child_main(argv: list[str]) -> None:
    bootstrap, group, src, out, late, checkpoints, mode, kill_at, data_dir = argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings(_env_file=None, data_dir=Path(data_dir), kafka_session_timeout_ms=3000)  # type: ignore[call-arg]
    metrics = run_worker(
        settings, bootstrap, group_id=group, subscribe=[src],
        processor=Crashing(out, late, int(kill_at)), stop=StopSignal().install(),
        exactly_once=mode == "exactly-once", batch_size=50, consumer_config=EARLIEST,
        log_every_s=1.0, checkpoint_topic=checkpoints, checkpoint_every_s=0.1,
    )  # fmt: skip
    print(json.dumps(dict(metrics.counts)), flush=True)


def start(bootstrap: str, *args: str, log: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "tests.test_signals_restart", bootstrap, *args]
    with log.open("ab") as sink:
        return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=sink)


def kill_and_restart(
    bootstrap: str, settings: Settings, unique: str, tmp_path: Path, mode: str
) -> tuple[list[bytes], list[bytes], dict[str, int]]:
    src, out, late = f"win.in.{unique}", f"win.out.{unique}", f"win.late.{unique}"
    cps, group = f"win.cp.{unique}", f"win-{unique}"
    create_topics(settings, bootstrap, TopicSpec(src, 2), TopicSpec(out, 1), TopicSpec(late, 1),
                  TopicSpec(cps, 1, compacted=True))  # fmt: skip
    producer = kafka.producer(settings, bootstrap)
    for p, values in script().items():
        for v in values:
            producer.produce(src, v, b"k", partition=p)
    assert producer.flush(30) == 0
    expected, _ = reference()
    log = tmp_path / "worker.log"
    args = (group, src, out, late, cps, mode)

    first = start(bootstrap, *args, str(KILL_AT_BATCH), str(tmp_path), log=log)
    assert first.wait(60) == -signal.SIGKILL, log.read_text()[-3000:]
    second = start(bootstrap, *args, "-1", str(tmp_path), log=log)
    try:
        windows = read_windows(settings, bootstrap, out, expect=len(expected))
        lates = read_values(settings, bootstrap, late, expect=1, timeout=10)
    finally:
        second.send_signal(signal.SIGTERM)
        stdout, _ = second.communicate(timeout=30)
    assert second.returncode == 0, log.read_text()[-3000:]
    counts = json.loads(stdout.decode().strip().splitlines()[-1])
    return windows, lates, counts


def read_windows(settings: Settings, bootstrap: str, topic: str, *, expect: int) -> list[bytes]:
    """Every window output, once ``expect`` distinct window ids arrived (repeats too)."""
    deadline = time.monotonic() + 60
    while True:
        values = read_values(settings, bootstrap, topic, expect=expect, timeout=5)
        if len({json.loads(v)["id"] for v in values}) >= expect or time.monotonic() > deadline:
            return values


def late_offsets(values: list[bytes]) -> set[tuple[int, int]]:
    letters = [msgspec.json.decode(v, type=DeadLetter) for v in values]
    assert {letter.reason for letter in letters} == {"late_event"}
    return {(letter.source_partition, letter.source_offset) for letter in letters}


@pytest.mark.slow
def test_at_least_once_restart_rebuilds_windows(
    kafka_bootstrap: str, settings: Settings, unique: str, tmp_path: Path
) -> None:
    expected, expected_late = reference()
    windows, lates, counts = kill_and_restart(
        kafka_bootstrap, settings, unique, tmp_path, "at-least-once"
    )
    assert counts["rebuilt_partitions"] == 2 and counts["rebuilt_records"] > 0, counts
    by_id: dict[str, set[bytes]] = {}
    for v in windows:
        by_id.setdefault(json.loads(v)["id"], set()).add(v)
    assert all(len(same) == 1 for same in by_id.values())  # a repeat is the same window
    assert sorted(v for (v,) in by_id.values()) == sorted(expected)
    assert late_offsets(lates) == expected_late


@pytest.mark.slow
def test_exactly_once_restart_gives_identical_output(
    kafka_bootstrap: str, settings: Settings, unique: str, tmp_path: Path
) -> None:
    expected, expected_late = reference()
    windows, lates, counts = kill_and_restart(
        kafka_bootstrap, settings, unique, tmp_path, "exactly-once"
    )
    assert counts["rebuilt_partitions"] == 2 and counts["rebuilt_records"] > 0, counts
    assert Counter(windows) == Counter(expected)
    assert sorted(late_offsets(lates)) == sorted(expected_late)
    assert len(lates) == len(expected_late)


def test_reference_has_open_windows_late_events_and_repeats_nothing() -> None:
    expected, late = reference()
    assert len(expected) == len(set(expected)) > 100 and len(late) > 5


if __name__ == "__main__":
    child_main(sys.argv[1:])
