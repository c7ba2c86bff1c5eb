"""A slow consumer keeps bounded memory: a worker process whose stage sleeps on every batch
(a stand-in for a throttled ClickHouse or a slow app) reads a backlog far larger than any
sane buffer; its resident memory, sampled from ``/proc`` over the run, stays under a
generous ceiling — librdkafka prefetches a bounded amount (``queued.max.messages.kbytes``)
and the runtime holds one batch — while the lag stays large. SIGTERM then commits exactly
what it produced (in == out for what it read).

The worker runs as ``python -m tests.test_runtime_slow_consumer …`` (``child_main``).
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from lucent_platform.config import Settings
from lucent_platform.topics import TopicSpec
from streaming.lifecycle import StopSignal
from streaming.runtime import InRecord, Result, run_worker
from tests.test_runtime_loop import (
    EARLIEST,
    PassThrough,
    committed,
    create_topics,
    high_watermarks,
    produce_ids,
)

ROOT = Path(__file__).resolve().parent.parent
RECORD_BYTES = 2048
BACKLOG = 250_000  # 2 KiB each: about 500 MB waiting in the topic
RUN_S = 20.0
CEILING_MB = 400  # far below the backlog; a worker that buffered its input would pass it


class Slow(PassThrough):
    """Pass-through that sleeps 0.2 s per batch: about 2,500 records/s at batches of 500."""

    def process(self, batch: Sequence[InRecord]) -> Result:
        if batch:
            time.sleep(0.2)
        return super().process(batch)


def child_main(argv: list[str]) -> None:
    bootstrap, group, src, out, data_dir = argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings(_env_file=None, data_dir=Path(data_dir))  # type: ignore[call-arg]
    metrics = run_worker(
        settings, bootstrap, group_id=group, subscribe=[src], processor=Slow(out),
        stop=StopSignal().install(), batch_size=500, consumer_config=EARLIEST, log_every_s=5.0,
    )  # fmt: skip
    print(json.dumps(dict(metrics.counts)), flush=True)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


@pytest.mark.slow
def test_a_slow_consumer_reads_a_large_backlog_in_bounded_memory(
    own_broker: str, tmp_path: Path, unique: str
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    src, out, group = f"slow.in.{unique}", f"slow.out.{unique}", f"slow-{unique}"
    create_topics(settings, own_broker, TopicSpec(src, 2), TopicSpec(out, 2))
    padding = b"x" * (RECORD_BYTES - 16)
    produce_ids(settings, own_broker, src, (b"%d:" % i + padding for i in range(BACKLOG)))

    log = tmp_path / "worker.log"
    argv = [sys.executable, "-m", "tests.test_runtime_slow_consumer", own_broker, group, src, out]
    with log.open("ab") as sink:
        worker = subprocess.Popen(
            [*argv, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, stderr=sink
        )
    samples: list[float] = []
    try:
        deadline = time.monotonic() + RUN_S
        while time.monotonic() < deadline and worker.poll() is None:
            samples.append(rss_mb(worker.pid))
            time.sleep(0.25)
    finally:
        worker.send_signal(signal.SIGTERM)
        stdout, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, log.read_text()[-3000:]
    counts = json.loads(stdout.decode().strip().splitlines()[-1])
    done = sum(max(o, 0) for o in committed(settings, own_broker, group, src, 2))
    behind = sum(high_watermarks(settings, own_broker, src, 2)) - done
    backlog_mb = BACKLOG * RECORD_BYTES / 2**20
    print(
        f"\nslow consumer: {counts['consumed']} of {BACKLOG} read in {RUN_S:.0f} s, "
        f"{behind} still behind; RSS max {max(samples):.0f} MB (median "
        f"{sorted(samples)[len(samples) // 2]:.0f} MB) against a {backlog_mb:.0f} MB backlog"
    )
    assert max(samples) < CEILING_MB, samples
    assert behind > BACKLOG // 2  # it really was slow: most of the backlog still waits
    assert counts["in"] == counts["out"] == counts["produced"] == done  # SIGTERM committed it all


if __name__ == "__main__":
    child_main(sys.argv[1:])
