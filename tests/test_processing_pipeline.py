"""The processor end to end over its pure interface: simulator traffic, routing, dead letters,
accounting, partition state."""

from __future__ import annotations

from collections import Counter
from typing import Any

import msgspec
import pytest

from lucent_platform import topics
from lucent_platform.envelope import decode, encode, new_envelope
from lucent_platform.messages import (
    Liquidity,
    OrderBookSnapshot,
    PriceAlert,
    PriceUpdate,
    Trade,
    YieldRate,
)
from lucent_platform.processing import (
    InRecord,
    MarketProcessor,
    ProcessorConfig,
    Result,
    deadletter,
)
from lucent_platform.simulator import MarketSimulator, SimulatorConfig
from tests.message_samples import DESIGN_RECORD_EXAMPLE

T0 = 1_756_809_000_000
BTC_PRICES = topics.prices("binance", "BTC-USDT")


def ticker(price: float = 60_000.0, *, exchange: str = "binance", pair: str = "BTC-USDT") -> Any:
    bid, ask = round(price - 0.5, 2), round(price + 0.5, 2)
    return PriceUpdate(
        exchange=exchange,
        pair=pair,
        price=price,
        volume24h=33_000.0,
        change24h=1.2,
        bid=bid,
        ask=ask,
        spread=round(ask - bid, 2),
        liquidity=Liquidity(bid_size=2.5, ask_size=1.8),
    )


def frame(data: Any, *, event_ms: int = T0, received_ms: int = T0 + 15, **kw: Any) -> bytes:
    return encode(
        new_envelope(
            data, source="binance-websocket", event_time_ms=event_ms, received_time_ms=received_ms,
            **kw,
        )
    )  # fmt: skip


def record(topic: str, value: bytes | None, offset: int = 0, partition: int = 0) -> InRecord:
    return InRecord(topic, partition, offset, T0 + 20, b"BTC-USDT", value)


def processor(clock: list[int] | None = None, **config: Any) -> MarketProcessor:
    now = clock if clock is not None else [T0 + 40]
    return MarketProcessor(ProcessorConfig(**config), clock_ms=lambda: now[0])


def balanced(result: Result) -> bool:
    c = result.counts
    return c["in"] == c["normalized"] + c["dead_lettered"] + c["duplicates"]


def outcome(result: Result) -> str:
    """What became of a one-record batch: ``ok``, ``dup`` or ``dead.<reason>``."""
    assert balanced(result) and result.counts["in"] == 1
    if not result.outputs:
        return "dup"
    out = result.outputs[0]
    if out.topic == topics.DEADLETTER:
        return "dead." + deadletter.decode(out.value).reason
    return "ok"


# --- the simulator's feed -------------------------------------------------------------------


@pytest.fixture(scope="module")
def simulated() -> tuple[Counter[tuple[str, str]], Counter[str]]:
    """Five simulated minutes, one record per batch: (injected anomaly, outcome) counts."""
    sim = MarketSimulator(SimulatorConfig(seed=7), start_ms=T0)
    clock = [T0]
    proc = processor(clock)
    confusion: Counter[tuple[str, str]] = Counter()
    totals: Counter[str] = Counter()
    offsets: Counter[str] = Counter()
    for message in sim.run(5 * 60_000, 1000):
        clock[0] = message.received_time_ms + 3
        rec = InRecord(message.topic, 0, offsets[message.topic], clock[0], message.key,
                       message.value)  # fmt: skip
        offsets[message.topic] += 1
        result = proc.process([rec])
        totals.update(result.counts)
        confusion[message.injected or "normal", outcome(result)] += 1
    return confusion, totals


def test_simulated_anomalies_are_caught_with_the_right_reason(
    simulated: tuple[Counter[tuple[str, str]], Counter[str]],
) -> None:
    confusion, totals = simulated
    by_anomaly: dict[str, Counter[str]] = {}
    for (injected, result), n in confusion.items():
        by_anomaly.setdefault(injected, Counter())[result] += n
    assert set(by_anomaly["malformed"]) == {"dead.undecodable"}
    assert set(by_anomaly["duplicate"]) == {"dup"}
    assert set(by_anomaly["late"]) == {"dead.stale_event"}
    # ×10 and ÷10 prices are outliers; crossed quotes (bid above ask) are caught before that.
    assert set(by_anomaly["outlier"]) == {"dead.outlier", "dead.crossed_quote"}
    assert all(sum(by_anomaly[k].values()) > 3 for k in ("malformed", "duplicate", "late"))
    # Market events are real data: they pass.
    assert set(by_anomaly["arbitrage_gap"]) == {"ok"} and set(by_anomaly["apy_spike"]) == {"ok"}
    assert set(by_anomaly["normal"]) == {"ok"}  # no false positives
    assert totals["in"] == totals["normalized"] + totals["dead_lettered"] + totals["duplicates"]
    assert totals["duplicates"] == totals["duplicates.id"] == sum(by_anomaly["duplicate"].values())


def test_a_whole_simulated_batch_is_accounted_for_in_order() -> None:
    sim = MarketSimulator(SimulatorConfig(seed=3, rate_multiplier=5), start_ms=T0)
    records = [
        InRecord(m.topic, 0, i, m.received_time_ms, m.key, m.value)
        for i, m in enumerate(sim.run(60_000, 500))
    ]
    result = processor([T0 + 60_000]).process(records)
    assert balanced(result) and result.counts["in"] == len(records) > 1000
    assert len(result.outputs) == result.counts["normalized"] + result.counts["dead_lettered"]
    dead = [deadletter.decode(o.value) for o in result.outputs if o.topic == topics.DEADLETTER]
    assert [d.source_offset for d in dead] == sorted(d.source_offset for d in dead)
    assert sum(result.counts[k] for k in result.counts if k.startswith("dead.")) == len(dead)
    normalized = {o.topic for o in result.outputs} - {topics.DEADLETTER}
    assert normalized == {topics.normalized(k) for k in topics.Kind} - {
        topics.normalized(topics.Kind.BRIDGES),  # on-chain only: the simulator has none
        topics.normalized(topics.Kind.SWAPS),
    }


# --- routing, normalization -----------------------------------------------------------------


def test_a_valid_ticker_goes_to_the_normalized_topic_keyed_by_pair() -> None:
    value = frame(ticker(), message_id="m-1")
    result = processor([T0 + 40]).process([record(BTC_PRICES, value)])
    assert result.counts == Counter({"in": 1, "normalized": 1})
    (out,) = result.outputs
    assert (out.topic, out.key, out.headers) == ("market.prices.all", b"BTC-USDT", ())
    envelope = decode(out.value)
    assert envelope.header.message_id == "m-1"
    assert envelope.header.source == "binance-websocket"
    assert envelope.header.version == f"{PriceUpdate.schema_version}.0"
    # latency so far: venue → connector (15 ms) + connector → processor output (40 - 15 ms)
    assert envelope.metadata.latency_ms == 40.0


def test_names_are_made_canonical_and_keys_follow_them() -> None:
    messy = msgspec.structs.replace(ticker(), exchange="Binance", pair="btc/usdt")
    (out,) = processor().process([record(BTC_PRICES, frame(messy))]).outputs
    data = decode(out.value).data
    assert (data.exchange, data.pair, out.key) == ("binance", "BTC-USDT", b"BTC-USDT")

    pool = YieldRate(protocol="Aave", pool="USDC-Lending", asset="usdc", chain="Ethereum", apy=4.1)
    (out,) = (
        processor().process([record(topics.yields("aave", "usdc-lending"), frame(pool))]).outputs
    )
    data = decode(out.value).data
    assert (data.protocol, data.pool, data.asset, data.chain) == (
        "aave",
        "usdc-lending",
        "USDC",
        "ethereum",
    )
    assert (out.topic, out.key) == ("market.yields.all", b"aave")


def test_a_design_record_frame_and_a_v1_ticker_are_normalized_to_the_current_version() -> None:
    result = processor([1756809000123 + 40]).process(
        [record(topics.prices("binance", "eth-usdc"), DESIGN_RECORD_EXAMPLE)]
    )
    (out,) = result.outputs
    envelope = decode(out.value)
    current = f"{PriceUpdate.schema_version}.0"
    assert envelope.header.version == current and envelope.header.message_id == "uuid"
    assert envelope.data.pair == "ETH-USDC" and envelope.metadata.latency_ms == 40.0


def test_unnamed_pairs_are_dead_lettered() -> None:
    bad = msgspec.structs.replace(ticker(), pair="BTCUSDT")
    assert outcome(processor().process([record(BTC_PRICES, frame(bad))])) == "dead.invalid_pair"


@pytest.mark.parametrize(
    ("topic", "value", "reason"),
    [
        (BTC_PRICES, None, "undecodable"),
        (BTC_PRICES, b"\xff\x00garbage", "undecodable"),
        (BTC_PRICES, frame(ticker())[:-7], "undecodable"),
        (BTC_PRICES, frame(ticker()).replace(b'"price_update"', b'"price_tick"'), "unknown_kind"),
        (BTC_PRICES, frame(Trade(exchange="binance", pair="BTC-USDT", price=6e4, amount=0.1)),
         "wrong_topic"),
        ("market.alerts", frame(PriceAlert(rule_id="r", user_id="u", pair="BTC-USDT",
         exchange="binance", target_price=1.0, direction="above", price=2.0)), "wrong_topic"),
    ],
    ids=["tombstone", "garbage", "truncated", "unknown-kind", "trade-on-prices", "signal"],
)  # fmt: skip
def test_what_cannot_be_read_is_dead_lettered_with_the_original_bytes(
    topic: str, value: bytes | None, reason: str
) -> None:
    result = processor([T0 + 99]).process([InRecord(topic, 2, 17, T0 + 5, b"k", value)])
    (out,) = result.outputs
    assert result.counts == Counter({"in": 1, "dead_lettered": 1, f"dead.{reason}": 1})
    assert (out.topic, out.key, out.headers) == (
        topics.DEADLETTER, topic.encode(), (("reason", reason.encode()),)
    )  # fmt: skip
    letter = deadletter.decode(out.value)
    assert (letter.reason, letter.source_topic, letter.source_partition) == (reason, topic, 2)
    assert (letter.source_offset, letter.source_timestamp_ms) == (17, T0 + 5)
    assert letter.dead_lettered_at_ms == T0 + 99 and letter.detail
    assert letter.original_base64 == (value or b"") and letter.original_null is (value is None)


def test_a_topic_outside_the_raw_families_is_routed_by_message_type() -> None:
    (out,) = processor().process([record("replayed.prices", frame(ticker()))]).outputs
    assert out.topic == "market.prices.all"


# --- robustness -------------------------------------------------------------------------------


def test_a_bug_in_a_stage_dead_letters_that_record_only(monkeypatch: pytest.MonkeyPatch) -> None:
    proc = processor()
    original = proc._stage["trade"]

    def broken(state: Any, data: Any, event_ms: int) -> Any:
        if data.trade_id == "bad":
            raise ZeroDivisionError("float division by zero")
        return original(state, data, event_ms)

    monkeypatch.setitem(proc._stage, "trade", broken)
    trades = topics.trades("binance", "BTC-USDT")
    batch = [
        record(trades, frame(Trade(exchange="binance", pair="BTC-USDT", price=6e4, amount=0.1,
                                   trade_id=trade_id)), offset=i)
        for i, trade_id in enumerate(["1", "bad", "3"])
    ]  # fmt: skip
    result = proc.process(batch)
    assert result.counts["normalized"] == 2 and result.counts["dead.processing_error"] == 1
    letter = deadletter.decode(result.outputs[1].value)
    assert letter.detail == "ZeroDivisionError: float division by zero"
    assert letter.source_offset == 1 and letter.original_base64 == batch[1].value


def test_an_empty_batch_is_fine() -> None:
    result = processor().process([])
    assert result.outputs == [] and result.counts["in"] == 0 and balanced(result)


# --- state per input partition --------------------------------------------------------------


def test_revoking_a_partition_drops_its_state_and_reassigning_starts_fresh() -> None:
    proc = processor()
    value = frame(ticker(), message_id="same")
    assert outcome(proc.process([record(BTC_PRICES, value)])) == "ok"
    assert outcome(proc.process([record(BTC_PRICES, value)])) == "dup"
    proc.revoked([(BTC_PRICES, 0)])
    assert outcome(proc.process([record(BTC_PRICES, value)])) == "ok"
    proc.assigned([(BTC_PRICES, 0)])
    assert outcome(proc.process([record(BTC_PRICES, value)])) == "ok"
    # Partitions are independent: the same id on another partition is not a duplicate there.
    assert outcome(proc.process([record(BTC_PRICES, value, partition=1)])) == "ok"


def test_books_and_quotes_of_a_revoked_partition_are_forgotten() -> None:
    proc = processor()
    book_topic = topics.orderbook("binance", "BTC-USDT")
    snapshot = OrderBookSnapshot(exchange="binance", pair="BTC-USDT", sequence=10,
                                 bids=[(59_999.5, 1.0)], asks=[(60_000.5, 2.0)])  # fmt: skip
    proc.process([record(book_topic, frame(snapshot))])
    kraken = topics.prices("kraken", "BTC-USDT")
    proc.process([record(kraken, frame(ticker(exchange="kraken"), event_ms=T0 - 1))])
    (out,) = proc.process([record(BTC_PRICES, frame(ticker()))]).outputs
    enrichment = decode(out.value).data.enrichment
    assert enrichment.depth.bid_size == 1.0 and enrichment.cross_venue.best_bid_exchange == "kraken"

    proc.revoked([(book_topic, 0), (kraken, 0)])
    (out,) = proc.process([record(BTC_PRICES, frame(ticker(), event_ms=T0 + 1))]).outputs
    enrichment = decode(out.value).data.enrichment
    assert enrichment.depth is None and enrichment.cross_venue is None


def test_warm_rebuilds_state_without_outputs() -> None:
    proc = processor()
    value = frame(ticker(), message_id="seen-before")
    proc.warm([record(BTC_PRICES, value)])
    assert outcome(proc.process([record(BTC_PRICES, value)])) == "dup"
