"""The market simulator: deterministic, realistic enough, and every injected anomaly visible."""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter, defaultdict
from typing import Any, TypeVar

import msgspec
import pytest

from lucent_platform import topics
from lucent_platform.envelope import Envelope, EnvelopeError, decode
from lucent_platform.messages import (
    GovernanceEvent,
    Liquidation,
    MessageData,
    OrderBookDelta,
    OrderBookSnapshot,
    PriceUpdate,
    Trade,
    YieldRate,
)
from lucent_platform.simulator import (
    ANOMALIES,
    AnomalyRates,
    MarketSimulator,
    SimulatedMessage,
    SimulatorConfig,
)
from lucent_platform.simulator.anomalies import MALFORMED_VARIANTS

D = TypeVar("D", bound=MessageData)

START_MS = 1_756_809_000_000  # 2025-09-02T10:30:00Z
TEN_MINUTES_MS = 600_000
TYPICAL_TAKER_FEE_BPS = 10.0  # per leg; an arbitrage must clear two of them
MIN_NET_ARBITRAGE_BPS = 30.0
START_PRICES = {"BTC-USDT": 60_000.0, "ETH-USDT": 3_000.0, "ETH-USDC": 3_000.0, "SOL-USDT": 150.0}


@dataclasses.dataclass(frozen=True)
class Received:
    """A message with the simulated clock of the ``step`` call that returned it."""

    clock_ms: int
    message: SimulatedMessage
    envelope: Envelope[MessageData] | None


def drive(simulator: MarketSimulator, duration_ms: int, tick_ms: int = 100) -> list[Received]:
    out = []
    for clock in range(simulator.now_ms + tick_ms, simulator.now_ms + duration_ms + 1, tick_ms):
        for message in simulator.step(clock):
            envelope = None if message.injected == "malformed" else decode(message.value)
            out.append(Received(clock, message, envelope))
    return out


@pytest.fixture(scope="module")
def ten_minutes() -> tuple[MarketSimulator, list[Received]]:
    """Ten simulated minutes of the default market (shared: about two seconds to make)."""
    simulator = MarketSimulator(SimulatorConfig(seed=11), start_ms=START_MS)
    return simulator, drive(simulator, TEN_MINUTES_MS)


def as_tuple(message: SimulatedMessage) -> tuple[Any, ...]:
    return msgspec.structs.astuple(message)


def of_kind(received: list[Received], kind: type[D]) -> list[tuple[Received, D]]:
    """The messages whose data is of ``kind``, with that data."""
    return [
        (r, r.envelope.data)
        for r in received
        if r.envelope is not None and isinstance(r.envelope.data, kind)
    ]


# --- determinism --------------------------------------------------------------------------


def test_same_seed_and_start_give_the_same_bytes_and_another_seed_does_not() -> None:
    def run(seed: int, start_ms: int = START_MS) -> list[tuple[Any, ...]]:
        simulator = MarketSimulator(SimulatorConfig(seed=seed), start_ms=start_ms)
        return [as_tuple(message) for message in simulator.run(30_000)]

    def values(run: list[tuple[Any, ...]]) -> set[bytes]:
        return {value for _, _, value, _, injected, _ in run if injected != "malformed"}

    first = run(5)
    assert first == run(5)
    assert len(first) > 1_500
    assert values(first).isdisjoint(values(run(6)))
    # Another start: other message ids, so two runs never look like duplicates downstream.
    assert values(first).isdisjoint(values(run(5, START_MS + 1)))


def test_output_does_not_depend_on_how_the_clock_is_sliced() -> None:
    config = SimulatorConfig(seed=3, rate_multiplier=5.0)
    coarse = MarketSimulator(config, start_ms=START_MS)
    fine = MarketSimulator(config, start_ms=START_MS)
    in_one = coarse.step(START_MS + 10_000)
    in_many = [m for t in range(START_MS, START_MS + 10_001, 37) for m in fine.step(t)]
    in_many += fine.step(START_MS + 10_000)
    assert [as_tuple(m) for m in in_one] == [as_tuple(m) for m in in_many]
    assert len(in_one) > 3_000 and all(m.received_time_ms <= START_MS + 10_000 for m in in_one)


def test_the_clock_cannot_go_back() -> None:
    simulator = MarketSimulator(SimulatorConfig(), start_ms=START_MS)
    simulator.step(START_MS + 1_000)
    with pytest.raises(ValueError, match="cannot go back"):
        simulator.step(START_MS + 999)


def test_config_rejects_pairs_it_cannot_price() -> None:
    with pytest.raises(ValueError, match="DOGE-USDT"):
        SimulatorConfig(pairs=("DOGE-USDT",))


# --- realism ------------------------------------------------------------------------------


def test_default_volume_is_about_a_hundred_messages_a_second(
    ten_minutes: tuple[MarketSimulator, list[Received]],
) -> None:
    simulator, received = ten_minutes
    per_second = len(received) / (TEN_MINUTES_MS / 1000)
    assert 50 <= per_second <= 200
    kinds = Counter(type(r.envelope.data).__name__ for r in received if r.envelope is not None)
    venue_pairs = len(simulator.venues)
    assert 0.7 <= kinds["PriceUpdate"] / 600 / venue_pairs <= 1.5  # ~1 ticker/s per feed
    assert kinds["Trade"] > kinds["PriceUpdate"] and kinds["OrderBookDelta"] > kinds["PriceUpdate"]
    assert kinds["YieldRate"] >= 300  # 4 pools, every ~5 s


def test_prices_stay_positive_and_sane_over_an_hour() -> None:
    config = SimulatorConfig(seed=2, rate_multiplier=0.03, tick_ms=1_000)
    received = drive(MarketSimulator(config, start_ms=START_MS), 3_600_000, tick_ms=10_000)
    checked = 0
    for r in received:
        if r.envelope is None or r.message.injected == "outlier":
            continue
        data = r.envelope.data
        if isinstance(data, PriceUpdate):
            assert data.bid is not None and data.ask is not None
            assert 0 < data.bid < data.price < data.ask
            assert data.spread == pytest.approx(data.ask - data.bid)
            assert 0.8 < data.price / START_PRICES[data.pair] < 1.25
            checked += 1
        elif isinstance(data, Trade):
            assert data.amount > 0 and 0.8 < data.price / START_PRICES[data.pair] < 1.25
    assert checked > 1_000


def test_venues_agree_within_normal_spreads_except_in_injected_gaps_and_crashes(
    ten_minutes: tuple[MarketSimulator, list[Received]],
) -> None:
    simulator, received = ten_minutes
    # A cascade's crash moves every venue fast: a venue's last quote, a second or two old,
    # then stands apart from a fresh one. (asset, start, end + a quote's lifetime)
    crashes = [
        (i.detail.split(" while ")[1].split()[0], i.start_ms, i.end_ms + 10_000)
        for i in simulator.injections
        if i.kind == "liquidation_cascade"
    ]
    assert crashes

    def crashing(pair: str, t: int) -> bool:
        return any(pair.startswith(f"{a}-") and s <= t < e for a, s, e in crashes)

    # pair → exchange → (bid, ask, flagged): each venue's latest quote
    latest: dict[str, dict[str, tuple[float, float, bool]]] = defaultdict(dict)
    normal_worst, gap_cross = 0.0, []
    for r, data in of_kind(received, PriceUpdate):
        if r.message.injected not in (None, "arbitrage_gap"):
            continue
        assert data.bid and data.ask
        gapped = r.message.injected == "arbitrage_gap"
        quotes = latest[data.pair]
        moving = crashing(data.pair, r.message.event_time_ms)
        quotes[data.exchange] = (data.bid, data.ask, gapped or moving)
        if moving:
            continue
        for exchange, (bid, ask, other_gapped) in quotes.items():
            if exchange == data.exchange or other_gapped:
                continue
            # Buy on one venue at its ask, sell on the other at its bid: the gross edge.
            cross_bps = max(data.bid - ask, bid - data.ask) / ask * 1e4
            if gapped:
                gap_cross.append(cross_bps)
            else:
                normal_worst = max(normal_worst, cross_bps)
    fees_bps = 2 * TYPICAL_TAKER_FEE_BPS
    assert normal_worst < fees_bps  # no arbitrage outside injected gaps
    assert gap_cross and min(gap_cross) > MIN_NET_ARBITRAGE_BPS + fees_bps
    gaps = [i for i in simulator.injections if i.kind == "arbitrage_gap"]
    assert len(gaps) >= 3
    assert all(2_000 <= gap.end_ms - gap.start_ms <= 10_000 for gap in gaps)
    # The gap's first quote comes at the very moment it opens, for fast detection.
    opened = {(r.message.topic, r.message.event_time_ms) for r in received}
    assert all((gap.topic, gap.start_ms) in opened for gap in gaps)


def test_books_never_cross_and_deltas_apply_cleanly_to_the_last_snapshot(
    ten_minutes: tuple[MarketSimulator, list[Received]],
) -> None:
    simulator, received = ten_minutes
    books: dict[str, tuple[dict[float, float], dict[float, float], int]] = {}
    snapshots_checked = 0
    for r in received:
        data = r.envelope.data if r.envelope is not None else None
        if r.message.injected == "duplicate" or not isinstance(
            data, OrderBookSnapshot | OrderBookDelta
        ):
            continue
        topic = r.message.topic
        assert data.sequence is not None
        if isinstance(data, OrderBookSnapshot):
            snapshot = (dict(data.bids), dict(data.asks), data.sequence)
            if topic in books:  # what the deltas built is exactly the venue's book
                assert books[topic] == snapshot
                snapshots_checked += 1
            assert [p for p, _ in data.bids] == sorted(dict(data.bids), reverse=True)
            assert [p for p, _ in data.asks] == sorted(dict(data.asks))
            assert len(data.bids) == len(data.asks) == simulator.config.book_depth
            books[topic] = snapshot
        else:
            assert topic in books, "a delta before the first snapshot"
            bids, asks, sequence = books[topic]
            assert data.first_sequence == sequence + 1
            assert data.first_sequence is not None and data.sequence >= data.first_sequence
            for side, levels in ((bids, data.bids), (asks, data.asks)):
                for price, size in levels:
                    if size == 0:
                        del side[price]  # removing a level the book does not hold fails
                    else:
                        side[price] = size
            books[topic] = (bids, asks, data.sequence)
        bids, asks, _ = books[topic]
        assert max(bids) < min(asks)
        assert len(bids) == len(asks) == simulator.config.book_depth
    assert len(books) == len(simulator.venues)
    assert snapshots_checked >= len(simulator.venues) * 15


# --- envelopes, topics, keys ----------------------------------------------------------------


def test_every_valid_message_decodes_onto_its_topic_with_its_key(
    ten_minutes: tuple[MarketSimulator, list[Received]],
) -> None:
    simulator, received = ten_minutes
    assert set(simulator.topics) >= {r.message.topic for r in received}
    for r in received:
        message, envelope = r.message, r.envelope
        if envelope is None:
            continue
        data, header = envelope.data, envelope.header
        if isinstance(data, PriceUpdate):
            assert message.topic == topics.prices(data.exchange, data.pair)
        elif isinstance(data, Trade):
            assert message.topic == topics.trades(data.exchange, data.pair)
        elif isinstance(data, OrderBookSnapshot | OrderBookDelta):
            assert message.topic == topics.orderbook(data.exchange, data.pair)
        elif isinstance(data, Liquidation):
            assert message.topic == topics.liquidations(data.protocol)
        elif isinstance(data, GovernanceEvent):
            assert message.topic == topics.governance(data.protocol)
        else:
            assert isinstance(data, YieldRate)
            assert message.topic == topics.yields(data.protocol, data.pool)
        assert message.key == topics.partition_key(header.message_type, data)
        on_chain = isinstance(data, YieldRate | Liquidation | GovernanceEvent)
        source = data.protocol if on_chain else data.exchange
        assert header.source == f"{source}-simulator"
        assert header.event_time_ms == message.event_time_ms
        assert message.received_time_ms <= r.clock_ms
        if message.injected == "duplicate":  # the same bytes, delivered again later
            assert header.received_time_ms < message.received_time_ms
            continue
        assert header.received_time_ms == message.received_time_ms
        if isinstance(data, Liquidation | GovernanceEvent):  # at the block's time, polled
            assert 800 <= header.received_time_ms - header.event_time_ms < 12_000
        elif message.injected != "late":
            assert 0 <= header.received_time_ms - header.event_time_ms < 100
            assert envelope.metadata.latency_ms == header.received_time_ms - header.event_time_ms
    ids = [r.envelope.header.message_id for r in received if r.envelope is not None]
    duplicates = sum(r.message.injected == "duplicate" for r in received)
    assert len(set(ids)) == len(ids) - duplicates


def test_each_feed_arrives_in_order(ten_minutes: tuple[MarketSimulator, list[Received]]) -> None:
    _, received = ten_minutes
    arrivals = [r.message.received_time_ms for r in received]
    assert arrivals == sorted(arrivals)
    last_event: dict[str, int] = {}
    for r in received:
        if r.message.injected in (None, "arbitrage_gap", "apy_spike"):
            assert r.message.event_time_ms >= last_event.get(r.message.topic, 0)
            last_event[r.message.topic] = r.message.event_time_ms


# --- injected anomalies -----------------------------------------------------------------------


def test_every_anomaly_occurs_within_ten_minutes_and_is_counted(
    ten_minutes: tuple[MarketSimulator, list[Received]],
) -> None:
    simulator, received = ten_minutes
    flagged = Counter(r.message.injected for r in received if r.message.injected)
    every = {*ANOMALIES, "liquidation_cascade"}
    assert set(flagged) == every
    stats = simulator.stats
    assert stats["messages"] == len(received)
    assert all(stats[f"injected.{kind}"] == flagged[kind] for kind in every)
    kinds = Counter(r.envelope.header.message_type for r in received if r.envelope is not None)
    assert all(stats[kind] == count for kind, count in kinds.items())
    assert stats["malformed"] == flagged["malformed"]
    assert simulator.stats["events.arbitrage_gap"] >= 3
    assert simulator.stats["events.apy_spike"] >= 2
    assert simulator.stats["events.liquidation_cascade"] >= 1
    assert {i.kind for i in simulator.injections} == every


def test_malformed_messages_fail_decoding_in_every_variant(
    ten_minutes: tuple[MarketSimulator, list[Received]],
) -> None:
    simulator, received = ten_minutes
    malformed = [r.message for r in received if r.message.injected == "malformed"]
    for message in malformed:
        with pytest.raises(EnvelopeError):
            decode(message.value)
        assert message.topic in simulator.topics and message.key
    variants = {i.detail for i in simulator.injections if i.kind == "malformed"}
    assert variants == set(MALFORMED_VARIANTS)


def test_duplicates_repeat_an_earlier_message_byte_for_byte(
    ten_minutes: tuple[MarketSimulator, list[Received]],
) -> None:
    _, received = ten_minutes
    seen: set[tuple[str, bytes | None, bytes]] = set()
    duplicates = 0
    for r in received:
        message = r.message
        identity = (message.topic, message.key, message.value)
        if message.injected == "duplicate":
            assert identity in seen
            duplicates += 1
        else:
            assert identity not in seen
            seen.add(identity)
    assert duplicates >= 20


def test_late_messages_are_minutes_behind_the_clock(
    ten_minutes: tuple[MarketSimulator, list[Received]],
) -> None:
    _, received = ten_minutes
    late = [r for r in received if r.message.injected == "late"]
    low, high = AnomalyRates().late_by_ms
    for r in late:
        assert low - 200 <= r.clock_ms - r.message.event_time_ms <= high + 200
        assert isinstance(r.envelope and r.envelope.data, PriceUpdate | Trade)
    assert len(late) >= 10


def test_apy_spikes_exceed_five_percent_and_normal_yields_do_not(
    ten_minutes: tuple[MarketSimulator, list[Received]],
) -> None:
    _, received = ten_minutes
    spiked: list[float] = []
    normal: list[float] = []
    for r, data in of_kind(received, YieldRate):
        assert data.tvl_usd and data.tvl_usd > 1e6
        (spiked if r.message.injected == "apy_spike" else normal).append(data.apy)
    assert spiked and min(spiked) > 5.0
    assert normal and max(normal) <= 5.0


def test_outliers_are_absurd_single_ticks(
    ten_minutes: tuple[MarketSimulator, list[Received]],
) -> None:
    _, received = ten_minutes
    last_normal: dict[str, float] = {}
    outliers = 0
    for r, data in of_kind(received, PriceUpdate):
        assert data.bid and data.ask
        if r.message.injected != "outlier":
            if r.message.injected is None:
                last_normal[r.message.topic] = data.price
            continue
        outliers += 1
        ratio = data.price / last_normal[r.message.topic]
        assert ratio > 5 or ratio < 0.2 or data.bid > data.ask
    assert outliers >= 5


def test_anomalies_can_be_turned_off() -> None:
    quiet = AnomalyRates(arbitrage_gap=0, apy_spike=0, outlier=0, duplicate=0, late=0, malformed=0,
                         liquidation_cascade=0)  # fmt: skip
    simulator = MarketSimulator(SimulatorConfig(seed=1, anomalies=quiet), start_ms=START_MS)
    assert all(message.injected is None for message in simulator.run(120_000))


def test_a_short_run_gets_one_arbitrage_gap_and_one_apy_spike_early() -> None:
    """So a demo or the first minute of `make run` shows both detectors working."""
    start = 1_795_000_000_000
    quiet = AnomalyRates(arbitrage_gap=1e-9, apy_spike=1e-9)
    simulator = MarketSimulator(SimulatorConfig(anomalies=quiet), start_ms=start)
    for now in range(start, start + 12_000, 100):
        simulator.step(now)
    early = {i.kind: i.start_ms - start for i in simulator.injections if i.kind != "late"}
    assert early.get("arbitrage_gap") == 10_000 and early.get("apy_spike") == 10_000
    off = AnomalyRates(arbitrage_gap=0.0, apy_spike=0.0, first_events_after_ms=None)
    simulator = MarketSimulator(SimulatorConfig(anomalies=off), start_ms=start)
    for now in range(start, start + 12_000, 100):
        simulator.step(now)
    assert not [i for i in simulator.injections if i.kind in ("arbitrage_gap", "apy_spike")]


def test_the_simulated_feed_logs_each_injected_gap_and_spike_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Operators time detections against these lines (`lucent tail arbitrage.opportunities`)."""
    from streaming.feeds.simulate import _log_signal_injections

    start = 1_795_000_000_000
    simulator = MarketSimulator(SimulatorConfig(), start_ms=start)
    logged = 0
    with caplog.at_level(logging.INFO, logger="streaming.feeds.simulate"):
        for now in range(start, start + 12_000, 100):
            simulator.step(now)
            logged = _log_signal_injections(simulator, logged)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("injected ")]
    wanted = [i for i in simulator.injections if i.kind in ("arbitrage_gap", "apy_spike")]
    assert len(wanted) >= 2 and len(lines) == len(wanted)
    first = wanted[0]
    assert lines[0] == f"injected {first.kind} at {first.start_ms} on {first.topic}: {first.detail}"
    assert logged == simulator.injected_total
