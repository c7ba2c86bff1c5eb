"""``lucent worker arbitrage`` SIGKILLed mid-stream and restarted, as the real process on a
broker of its own, while simulated price updates (gaps injected often) keep arriving on
``market.prices.all`` (6,000 over some 24 s, keyed by pair).

The reference is the pure ``ArbitrageDetector`` over each input partition's records as the
broker holds them (read back after the run): the opportunities an uninterrupted run emits.
The worker is at-least-once (``run_worker``'s default): after the restart it rebuilds its
quotes from the checkpointed span and re-processes from the last commit, so nothing is lost
and a repeat is an opportunity already emitted before the kill, emitted again identical
(same id, same body but for the fields that say when it ran). Repeats are counted and
printed (``-s``); the second life must have rebuilt quotes from checkpoints.

Not the yield worker: its windows also close on the wall clock (``idle_ms``), so what an
uninterrupted run emits depends on timing, and a reference needs a script that never idles.
"""

from __future__ import annotations

import re
import signal
import time
from collections import Counter
from pathlib import Path

from lucent_platform.adapters import kafka, kafka_groups
from lucent_platform.config import Settings
from lucent_platform.envelope import decode_as
from lucent_platform.lag import group_lag
from lucent_platform.messages import PriceUpdate
from lucent_platform.processing.pipeline import InRecord
from lucent_platform.signals.apps.arbitrage import ArbitrageConfig, ArbitrageDetector
from lucent_platform.topics import ARBITRAGE_OPPORTUNITIES, Kind, normalized
from streaming.apps.arbitrage import GROUP_ID
from tests.arbitrage_quotes import simulated_prices
from tests.domain_flow import provision_topics, wait_until
from tests.paced_publisher import Message, PacedPublisher
from tests.test_signals_arbitrage import deterministic
from tests.worker_process import start_worker, worker_env

PRICES = normalized(Kind.PRICES)
STREAM = 6_000
RATE = 250  # price updates/s published while the worker runs (about 24 s)


def _prices() -> list[Message]:
    """The simulated price updates to ``market.prices.all``, keyed by pair."""
    return [
        (PRICES, decode_as(value, PriceUpdate).data.pair.encode(), value)
        for value in simulated_prices(STREAM)
    ]


def _lag(settings: Settings, broker: str) -> int | None:
    inputs = [(t, p) for t, p in kafka_groups.partitions(settings, broker) if t == PRICES]
    committed = kafka_groups.committed(settings, broker, [GROUP_ID], inputs)[GROUP_ID]
    return group_lag(kafka_groups.ends(settings, broker, inputs), committed)


def _outputs(settings: Settings, broker: str, idle_s: float = 2.0) -> list[tuple[str, str]]:
    """Every opportunity on the output topic as (id, deterministic body), repeats too."""
    records = kafka.read_topic(
        settings, broker, ARBITRAGE_OPPORTUNITIES, limit=1_000_000, idle_timeout=idle_s
    )
    return [deterministic(r.value or b"") for r in records]


def _assigned(log: Path, since: int = 0) -> bool:
    """The worker's log shows partitions assigned after its first ``since`` bytes."""
    return log.exists() and b"lucent-arbitrage assigned [(" in log.read_bytes()[since:]


def _reference(settings: Settings, broker: str) -> set[tuple[str, str]]:
    """The pure detector (default config, as the worker runs it) over each input partition."""
    by_partition: dict[int, list[InRecord]] = {}
    for r in kafka.read_topic(settings, broker, PRICES, limit=1_000_000, idle_timeout=2.0):
        record = InRecord(r.topic, r.partition, r.offset, r.timestamp_ms, r.key, r.value or b"")
        by_partition.setdefault(r.partition, []).append(record)
    assert sum(map(len, by_partition.values())) == STREAM
    expected: set[tuple[str, str]] = set()
    for partition, records in by_partition.items():
        app = ArbitrageDetector(ArbitrageConfig(), clock_ms=lambda: 0.0)
        app.assigned([(PRICES, partition)])
        result = app.process(records)
        expected |= {
            deterministic(o.value) for o in result.outputs if o.topic == ARBITRAGE_OPPORTUNITIES
        }
    return expected


def test_an_arbitrage_worker_killed_mid_stream_and_restarted_loses_nothing(
    own_broker: str, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    provision_topics(settings, own_broker)
    env = worker_env(tmp_path, own_broker)
    log = tmp_path / "arbitrage.log"
    prices = PacedPublisher(settings, own_broker, _prices(), RATE)
    first = start_worker("arbitrage", env, log)
    second = None
    try:
        wait_until(lambda: _assigned(log), 120, "the worker's assignment", every=0.25)
        prices.start()
        # mid-stream: opportunities out, the group has committed, a third still to come
        wait_until(
            lambda: prices.sent >= STREAM // 3
            and _lag(settings, own_broker) is not None
            and len(_outputs(settings, own_broker, idle_s=0.3)) > 0,
            120, "a first commit and first opportunities", every=0.5,
        )  # fmt: skip
        first.send_signal(signal.SIGKILL)
        assert first.wait(30) == -signal.SIGKILL
        killed_at, sent_at_kill = time.monotonic(), prices.sent
        before = Counter(mid for mid, _ in _outputs(settings, own_broker))
        first_life = log.stat().st_size
        second = start_worker("arbitrage", env, log)
        wait_until(lambda: _assigned(log, first_life), 120, "the second life's assignment",
                   every=0.25)  # fmt: skip
        prices.join()
        last_price = time.monotonic()
        wait_until(lambda: _lag(settings, own_broker) == 0, 120, "the input committed to its end",
                   every=0.25)  # fmt: skip
        recovery, after_last = time.monotonic() - killed_at, time.monotonic() - last_price
        assert second.poll() is None, log.read_text()[-3000:]
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(60)
    assert second.returncode == 0, log.read_text()[-3000:]
    assert sent_at_kill < STREAM, "killed after the last price: not mid-stream"

    expected = _reference(settings, own_broker)
    outputs = _outputs(settings, own_broker)
    got = Counter(mid for mid, _ in outputs)
    lost = {mid for mid, _ in expected} - got.keys()
    repeats = sum(n - 1 for n in got.values())
    print(
        f"\narbitrage SIGKILL + restart: {STREAM} prices in, killed at {sent_at_kill} sent with "
        f"{sum(before.values())} opportunities out; expected {len(expected)}, out "
        f"{len(outputs)} ({len(got)} distinct), lost {len(lost)}, repeats {repeats}; "
        f"committed to the end {recovery:.1f} s after the kill ({after_last:.1f} s after the "
        "last price)"
    )
    assert len(expected) > 20  # the simulator's gaps open opportunities
    rebuilt = re.search(rb"rebuilt (\d+) of \d+ partitions", log.read_bytes()[first_life:])
    assert rebuilt and int(rebuilt[1]) > 0, "the second life rebuilt no quotes from checkpoints"
    assert not lost, sorted(lost)[:5]
    assert set(outputs) == expected  # nothing else, and every repeat identical
    # at-least-once: only what the killed worker had emitted can come out again
    assert {mid for mid, n in got.items() if n > 1} <= before.keys()
