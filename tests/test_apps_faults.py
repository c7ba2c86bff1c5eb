"""The signal apps' workers SIGKILLed mid-stream and restarted, as the real processes
(``lucent worker arbitrage``, ``lucent worker yield``, ``lucent worker patterns``) on a broker
of its own, while their input keeps arriving (some 6,000 records over 24 s): simulated price
updates with gaps injected often on ``market.prices.all`` keyed by pair; scripted yield rates
of 12 pools on ``market.yields.all`` keyed by protocol; scripted liquidations (keyed by
protocol) and the falling or steady prices of their collateral (keyed by pair).

The reference is the pure detector over each input partition's records as the broker holds
them (read back after the run): the opportunities an uninterrupted run emits. The pattern
app joins two topics, so its reference is one detector over every partition of both. All
three workers are at-least-once (``run_worker``'s default): after the restart they rebuild
their state (quotes, windows, the price table) from the checkpointed span and re-process
from the last commit, so nothing is lost and a repeat is an opportunity already emitted
before the kill, emitted again identical (same id, same body but for the fields that say
when it ran). Repeats are counted and printed (``-s``); the second life must have rebuilt
state from checkpoints.

The yield worker's windows also close on the wall clock (``idle_ms`` after a partition goes
quiet), which would make its output depend on timing: it runs here with 10 s windows and no
idle closing (``LUCENT_YIELD_CONFIG``), and one far-future rate per protocol closes the last
windows.

The pattern app's windows close on the watermark of the liquidation partition alone, and a
restarted worker catching up reads its partitions in no fixed order: a liquidation
partition can run ahead of the prices of its windows. Such a window waits for its prices,
and the price table is pruned behind the slowest owned partition (``CascadeDetector``), so
the worker runs with the default grace (5 s) and the pure reference finds the same cascades
reading every liquidation first or every price first (before that fix, the restarted worker
lost 38-44 of 90 here). No wall-clock closing (``idle_ms``).
"""

from __future__ import annotations

import json
import re
import signal
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lucent_platform.adapters import kafka, kafka_groups
from lucent_platform.config import Settings
from lucent_platform.envelope import decode_as
from lucent_platform.lag import group_lag
from lucent_platform.messages import LiquidationCascade, PriceUpdate
from lucent_platform.processing.pipeline import InRecord, Output
from lucent_platform.signals.apps.arbitrage import ArbitrageConfig, ArbitrageDetector
from lucent_platform.signals.apps.patterns import CascadeDetector, patterns_config
from lucent_platform.signals.apps.yields import YieldDetector, yield_config
from lucent_platform.topics import (
    ARBITRAGE_OPPORTUNITIES,
    PATTERNS,
    YIELD_OPPORTUNITIES,
    Kind,
    normalized,
)
from streaming.apps import arbitrage, patterns, yields
from tests.arbitrage_quotes import simulated_prices
from tests.domain_flow import provision_topics, wait_until
from tests.paced_publisher import Message, PacedPublisher
from tests.test_patterns_cascade import liquidation, price
from tests.test_signals_arbitrage import deterministic
from tests.test_yield_detector import rate
from tests.worker_process import start_worker, stop_workers, worker_env

STREAM = 6_000
RATE = 250  # input records/s published while the worker runs (about 24 s)
T0 = 1_795_000_000_000
YIELD_CONFIG = {"window_ms": 10_000, "grace_ms": 0, "idle_ms": 10**9}
PROTOCOLS = ("aave", "compound", "morpho", "spark")
PATTERNS_CONFIG = {"window_ms": 10_000, "grace_ms": 5_000, "idle_ms": 10**9}
LENDERS = ("aave", "compound", "morpho", "spark", "maker")
COLLATERAL = ("WETH", "WBTC", "SOL")  # priced by ETH-, BTC-, SOL- pairs
PAIRS = {"WETH": ("ETH-USDT", "ETH-USD"), "WBTC": ("BTC-USDT", "BTC-USD"),
         "SOL": ("SOL-USDT", "SOL-USDC")}  # fmt: skip
BASE_PRICE = {"WETH": 3_000.0, "WBTC": 60_000.0, "SOL": 150.0}
WINDOWS = 90


def _prices() -> list[Message]:
    """The simulated price updates to ``market.prices.all``, keyed by pair."""
    topic = normalized(Kind.PRICES)
    return [
        (topic, decode_as(value, PriceUpdate).data.pair.encode(), value)
        for value in simulated_prices(STREAM)
    ]


def _rates() -> list[Message]:
    """12 pools, a rate each per second of event time: stretches of 30 s above 5 % (varying
    a little) and at 4 %; then one far-future rate per protocol, closing every window."""
    topic = normalized(Kind.YIELDS)
    out: list[Message] = []
    for i in range(STREAM // 12):
        for j in range(12):
            protocol = PROTOCOLS[j % 4]
            apy = 6.0 + 0.1 * ((i * 7 + j) % 5) if (i // 30 + j) % 3 else 4.0
            out.append(
                (topic, protocol.encode(), rate(protocol, f"pool{j}", T0 + 1000 * i + j, apy))
            )
    for protocol in PROTOCOLS:
        out.append((topic, protocol.encode(), rate(protocol, "flush", T0 + 10**9, 1.0)))
    return out


def _liquidations_and_prices() -> list[Message]:
    """10 s windows of 6 pairs' prices (one a second each), each asset falling 9 % or 2.7 %
    within the window by turns, and 0-4 liquidations of one collateral per lender: a cascade
    where a lender's 3 or 4 meet a 9 % fall. Enough liquidations in a shallow fall only in
    the last windows: such a window stays armed (every price of its asset checks it again)
    until it closes, here only after the run."""
    prices, liquidations = normalized(Kind.PRICES), normalized(Kind.LIQUIDATIONS)
    out: list[Message] = []
    for window in range(WINDOWS):
        deep = [(window + a) % 2 == 0 for a in range(len(COLLATERAL))]
        for second in range(10):
            t = T0 + 10_000 * window + 1_000 * second
            for a, asset in enumerate(COLLATERAL):
                drop = 0.10 if deep[a] else 0.03
                for v, pair in enumerate(PAIRS[asset]):
                    p = BASE_PRICE[asset] * (1 - drop * second / 10) * (1 + 0.0005 * v)
                    out.append((prices, pair.encode(), price(pair, t, round(p, 6))))
            for j, lender in enumerate(LENDERS):
                a = (window + j) % len(COLLATERAL)
                n = (window * 3 + j) % 5
                if not deep[a] and window < WINDOWS - 6:
                    n = min(n, 2)
                if second in (2, 4, 6, 8)[:n]:
                    out.append((liquidations, lender.encode(),
                                liquidation(lender, COLLATERAL[a], t + j)))  # fmt: skip
    return out


def _cascade(value: bytes) -> tuple[str, str]:
    """A cascade as (id, which window of which market): the rest (count, fall, trigger) says
    when it was found, which depends on the order the two topics are read in."""
    envelope = decode_as(value, LiquidationCascade)
    c = envelope.data
    where = [c.protocol, c.chain, c.collateral_asset, c.window_start_ms, c.window_end_ms]
    return envelope.header.message_id, json.dumps(where)


def _yield_body(value: bytes) -> tuple[str, str]:
    """A yield opportunity without the fields that say when it ran: (id, the rest as JSON)."""
    body = json.loads(value)
    body["header"].pop("receivedTimeMs")
    body["metadata"].pop("latencyMs")
    return body["header"]["messageId"], json.dumps(body, sort_keys=True)


@dataclass(frozen=True)
class App:
    """One signal worker: its input, output, group, the reference detector and settings."""

    worker: str
    group: str
    kinds: tuple[Kind, ...]
    out: str
    messages: Callable[[], list[Message]]
    detector: Callable[[], Any]
    identity: Callable[[bytes], tuple[str, str]]
    settings: Mapping[str, str]
    joined: bool = False  # one detector over every input partition (a join), not one each

    @property
    def inputs(self) -> list[str]:
        return [normalized(kind) for kind in self.kinds]


APPS = {
    "arbitrage": App(
        "arbitrage", arbitrage.GROUP_ID, (Kind.PRICES,), ARBITRAGE_OPPORTUNITIES, _prices,
        lambda: ArbitrageDetector(ArbitrageConfig(), clock_ms=lambda: 0.0), deterministic, {},
    ),
    "yield": App(
        "yield", yields.GROUP_ID, (Kind.YIELDS,), YIELD_OPPORTUNITIES, _rates,
        lambda: YieldDetector(yield_config(YIELD_CONFIG), clock_ms=lambda: 0), _yield_body,
        {"LUCENT_YIELD_CONFIG": json.dumps(YIELD_CONFIG)},
    ),
    "patterns": App(
        "patterns", patterns.GROUP_ID, (Kind.LIQUIDATIONS, Kind.PRICES), PATTERNS,
        _liquidations_and_prices,
        lambda: CascadeDetector(patterns_config(PATTERNS_CONFIG), clock_ms=lambda: 0), _cascade,
        {"LUCENT_PATTERNS_CONFIG": json.dumps(PATTERNS_CONFIG)}, joined=True,
    ),
}  # fmt: skip


def _lag(app: App, settings: Settings, broker: str) -> int | None:
    inputs = [(t, p) for t, p in kafka_groups.partitions(settings, broker) if t in app.inputs]
    committed = kafka_groups.committed(settings, broker, [app.group], inputs)[app.group]
    return group_lag(kafka_groups.ends(settings, broker, inputs), committed)


def _outputs(
    app: App, settings: Settings, broker: str, idle_s: float = 2.0
) -> list[tuple[str, str]]:
    """Every opportunity on the output topic as (id, deterministic body), repeats too."""
    records = kafka.read_topic(settings, broker, app.out, limit=1_000_000, idle_timeout=idle_s)
    return [app.identity(r.value or b"") for r in records]


def _assigned(app: App, log: Path, since: int = 0) -> bool:
    """The worker's log shows partitions assigned after its first ``since`` bytes."""
    return log.exists() and f"{app.group} assigned [(".encode() in log.read_bytes()[since:]


def _found(app: App, parts: dict[tuple[str, int], list[InRecord]]) -> set[tuple[str, str]]:
    """What one detector finds over ``parts``, read one partition after the other."""
    detector = app.detector()
    detector.assigned(list(parts))
    outputs: list[Output] = detector.process([r for rs in parts.values() for r in rs]).outputs
    return {app.identity(o.value) for o in outputs if o.topic == app.out}


def _reference(app: App, settings: Settings, broker: str, sent: int) -> set[tuple[str, str]]:
    """The pure detector (configured as the worker runs it) over each input partition, or,
    for a join, over them all."""
    by_partition: dict[tuple[str, int], list[InRecord]] = {}
    for topic in app.inputs:
        for r in kafka.read_topic(settings, broker, topic, limit=1_000_000, idle_timeout=2.0):
            record = InRecord(r.topic, r.partition, r.offset, r.timestamp_ms, r.key,
                              r.value or b"")  # fmt: skip
            by_partition.setdefault((r.topic, r.partition), []).append(record)
    assert sum(map(len, by_partition.values())) == sent
    if app.joined:
        # every liquidation before any price, then the other way round: the same cascades
        expected = _found(app, by_partition)
        assert _found(app, dict(reversed(by_partition.items()))) == expected
        return expected
    return set().union(*(_found(app, {tp: records}) for tp, records in by_partition.items()))


@pytest.mark.slow
@pytest.mark.parametrize("app", APPS.values(), ids=APPS.keys())
def test_a_signal_worker_killed_mid_stream_and_restarted_loses_nothing(
    own_broker: str, tmp_path: Path, app: App
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    provision_topics(settings, own_broker)
    env = worker_env(tmp_path, own_broker, **app.settings)
    log = tmp_path / f"{app.worker}.log"
    inputs = PacedPublisher(settings, own_broker, app.messages(), RATE)
    total = len(inputs.paced)
    first = start_worker(app.worker, env, log)
    second = None
    try:
        wait_until(lambda: _assigned(app, log), 120, "the worker's assignment", every=0.25)
        inputs.start()
        # mid-stream: opportunities out, the group has committed, a third still to come
        wait_until(
            lambda: inputs.sent >= total // 3
            and _lag(app, settings, own_broker) is not None
            and len(_outputs(app, settings, own_broker, idle_s=0.3)) > 0,
            120, "a first commit and first opportunities", every=0.5,
        )  # fmt: skip
        first.send_signal(signal.SIGKILL)
        assert first.wait(30) == -signal.SIGKILL
        killed_at, sent_at_kill = time.monotonic(), inputs.sent
        before = Counter(mid for mid, _ in _outputs(app, settings, own_broker))
        first_life = log.stat().st_size
        second = start_worker(app.worker, env, log)
        wait_until(lambda: _assigned(app, log, first_life), 120, "the second life's assignment",
                   every=0.25)  # fmt: skip
        inputs.join()
        last_input = time.monotonic()
        wait_until(lambda: _lag(app, settings, own_broker) == 0, 120,
                   "the input committed to its end", every=0.25)  # fmt: skip
        recovery, after_last = time.monotonic() - killed_at, time.monotonic() - last_input
        assert second.poll() is None, log.read_text()[-3000:]
    finally:
        stop_workers(first, second)
    assert second.returncode == 0, log.read_text()[-3000:]
    assert sent_at_kill < total, "killed after the last input: not mid-stream"

    expected = _reference(app, settings, own_broker, total)
    outputs = _outputs(app, settings, own_broker)
    got = Counter(mid for mid, _ in outputs)
    lost = {mid for mid, _ in expected} - got.keys()
    repeats = sum(n - 1 for n in got.values())
    rebuilt = re.search(rb"rebuilt (\d+) of \d+ partitions.*", log.read_bytes()[first_life:])
    print(
        f"\n{app.worker} SIGKILL + restart: {total} in, killed at {sent_at_kill} sent with "
        f"{sum(before.values())} opportunities out; expected {len(expected)}, out "
        f"{len(outputs)} ({len(got)} distinct), lost {len(lost)}, repeats {repeats}; "
        f"committed to the end {recovery:.1f} s after the kill ({after_last:.1f} s after the "
        f"last input); {rebuilt[0].decode() if rebuilt else 'nothing rebuilt'}"
    )
    assert len(expected) > 20  # the simulator's gaps and the script's stretches open some
    assert rebuilt and int(rebuilt[1]) > 0, "the second life rebuilt nothing from checkpoints"
    assert not lost, sorted(lost)[:5]
    assert set(outputs) == expected  # nothing else, and every repeat identical
    # at-least-once: only what the killed worker had emitted can come out again
    assert {mid for mid, n in got.items() if n > 1} <= before.keys()
