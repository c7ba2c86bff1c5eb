"""Crash safety: a worker process SIGKILLed mid-stream and restarted, then stopped by SIGTERM.

At-least-once: every input id reaches the output (repeats allowed). Exactly-once: a
``read_committed`` reader sees every input id exactly once. Either way SIGTERM finishes the
batch, commits the offsets up to the end of the input and exits 0.

The worker runs as ``python -m tests.test_runtime_crash …`` (``child_main`` below). Its
producer queue is tiny, so most of its time is spent producing inside an uncommitted batch
(an open transaction, in exactly-once mode): that is where the kill lands.
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
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings
from lucent_platform.topics import TopicSpec
from streaming.lifecycle import StopSignal
from streaming.runtime import run_worker
from tests.test_runtime_loop import (
    EARLIEST,
    PassThrough,
    committed,
    create_topics,
    high_watermarks,
    produce_ids,
    read_values,
)

ROOT = Path(__file__).resolve().parent.parent
N = 3000


def child_main(argv: list[str]) -> None:
    bootstrap, group, src, out, mode, data_dir = argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings(_env_file=None, data_dir=Path(data_dir), kafka_session_timeout_ms=3000)  # type: ignore[call-arg]
    metrics = run_worker(
        settings, bootstrap, group_id=group, subscribe=[src], processor=PassThrough(out),
        stop=StopSignal().install(), exactly_once=mode == "exactly-once", batch_size=100,
        consumer_config=EARLIEST,
        producer_config={"queue.buffering.max.messages": 20, "linger.ms": 20},
        log_every_s=1.0,
    )  # fmt: skip
    print(json.dumps(dict(metrics.counts)), flush=True)


def start(kafka_bootstrap: str, *args: str, log: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "tests.test_runtime_crash", kafka_bootstrap, *args]
    with log.open("ab") as sink:
        return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=sink)


def written(settings: Settings, bootstrap: str, topic: str, n: int) -> int:
    """Records on ``topic`` by the broker's watermarks: transaction markers and aborted records
    included, and no reading (reading at the end of a transactional partition waits)."""
    probe = kafka.consumer(settings, bootstrap, "progress")
    try:
        return sum(probe.get_watermark_offsets(TopicPartition(topic, p), 5)[1] for p in range(n))
    finally:
        probe.close()


def wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("mode", ["at-least-once", "exactly-once"])
def test_killed_worker_restarts_without_loss(
    kafka_bootstrap: str, settings: Settings, unique: str, mode: str, tmp_path: Path
) -> None:
    src, out, group = f"crash.in.{unique}", f"crash.out.{unique}", f"crash-{unique}"
    create_topics(settings, kafka_bootstrap, TopicSpec(src, 2), TopicSpec(out, 2))
    produce_ids(settings, kafka_bootstrap, src, range(N))
    args = (group, src, out, mode, str(tmp_path))
    log = tmp_path / "worker.log"

    first = start(kafka_bootstrap, *args, log=log)
    wait_for(lambda: written(settings, kafka_bootstrap, out, 2) >= N // 4,
             30, f"a quarter of the output; log: {log.read_text()[-2000:]}")  # fmt: skip
    first.kill()  # SIGKILL: no flush, no commit, maybe a transaction left open
    first.wait(10)
    assert written(settings, kafka_bootstrap, out, 2) < N, "killed too late"

    second = start(kafka_bootstrap, *args, log=log)
    try:
        values = read_values(settings, kafka_bootstrap, out, expect=N, timeout=40)
    finally:
        second.send_signal(signal.SIGTERM)
        stdout, _ = second.communicate(timeout=30)
    assert second.returncode == 0, log.read_text()[-3000:]
    counts = json.loads(stdout.decode().strip().splitlines()[-1])
    assert counts["in"] == counts["out"] == counts["produced"]

    seen = Counter(values)
    assert set(seen) == {str(i).encode() for i in range(N)}  # nothing lost
    if mode == "exactly-once":
        assert max(seen.values()) == 1, "a read_committed reader saw a record twice"
        uncommitted = read_values(settings, kafka_bootstrap, out, expect=N, read_committed=False)
        # Records of the transaction the kill left open are in the log, aborted.
        print(f"aborted records left by the kill: {len(uncommitted) - N}")
    else:
        print(f"records repeated after the kill: {sum(seen.values()) - N}")
    assert committed(settings, kafka_bootstrap, group, src, 2) == high_watermarks(
        settings, kafka_bootstrap, src, 2
    )


if __name__ == "__main__":
    if os.environ.get("PYTHONHASHSEED") is None:
        pass
    child_main(sys.argv[1:])
