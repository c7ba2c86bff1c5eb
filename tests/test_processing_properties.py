"""Properties of ``MarketProcessor.process``: any input, no exception, every record accounted.

Arbitrary bytes, arbitrary envelopes of every kind (valid by schema, absurd by value: NaN,
infinities, negative sizes, crossed books, any names, any int64 times), in batches over
several partitions with rebalances in between.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lucent_platform import topics
from lucent_platform.envelope import Envelope, Header, Metadata, encode
from lucent_platform.messages import (
    ArbitrageOpportunity,
    BridgeTransfer,
    GovernanceEvent,
    Liquidation,
    Liquidity,
    OrderBookDelta,
    OrderBookSnapshot,
    PoolSwap,
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

T0 = 1_756_809_000_000
INT64 = st.integers(-(2**63), 2**63 - 1)
FINITE = st.floats(allow_nan=False, allow_infinity=False)  # what JSON can carry
FLOATS = st.one_of(st.floats(0.01, 1e6), FINITE, st.just(0.0))
SIZES = st.one_of(st.floats(0.0, 1e3), FINITE)


def mostly(common: list[Any], rare: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """One of ``common`` most of the time, else a draw from ``rare``: so that most envelopes
    reach the stages after naming and decoding, and the odd one does not."""
    return st.sampled_from([*common, rare]).flatmap(
        lambda v: v if isinstance(v, st.SearchStrategy) else st.just(v)
    )


NAMES = mostly(["binance", "Kraken", "coinbase ", "aave"] * 2, st.text(max_size=8))
PAIRS = mostly(["BTC-USDT", "eth/usdc", "BTCUSDT", "SOL_USDT"] * 2, st.text(max_size=9))
LEVELS = st.lists(st.tuples(FLOATS, SIZES), max_size=4)
ADDRESSES = mostly(["0x" + "ab" * 20, "0xAB" + "cd" * 19], st.text(max_size=44))
HASHES = mostly(["0x" + "5e" * 32], st.text(max_size=66))
RAW_INTS = mostly(["0", "-12", str(2**256 - 1)], st.text(max_size=8))
_RAW = [
    topics.prices("binance", "BTC-USDT"),
    topics.trades("kraken", "ETH-USDT"),
    topics.orderbook("coinbase", "BTC-USDT"),
    topics.yields("aave", "usdc-lending"),
    topics.liquidations("compound"),
    topics.governance("makerdao"),
    topics.bridges("optimism"),
    topics.swaps("ethereum"),
]
TOPICS = st.one_of(
    st.sampled_from([*_RAW, "market.prices.all", "not.a.raw.topic"]), st.text(max_size=20)
)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


DATA = st.one_of(
    st.builds(
        PriceUpdate, exchange=NAMES, pair=PAIRS, price=FLOATS, volume24h=optional(SIZES),
        change24h=optional(FINITE), bid=optional(FLOATS), ask=optional(FLOATS),
        spread=optional(FINITE),
        liquidity=optional(st.builds(Liquidity, bid_size=SIZES, ask_size=SIZES)),
    ),
    st.builds(
        Trade, exchange=NAMES, pair=PAIRS, price=FLOATS, amount=SIZES,
        trade_id=optional(st.sampled_from(["1", "2", "665076760"])),
        side=optional(st.sampled_from(["buy", "sell"])),
    ),
    st.builds(
        OrderBookSnapshot, exchange=NAMES, pair=PAIRS, bids=LEVELS, asks=LEVELS,
        sequence=optional(st.integers(0, 20)),
    ),
    st.builds(
        OrderBookDelta, exchange=NAMES, pair=PAIRS, bids=LEVELS, asks=LEVELS,
        first_sequence=optional(st.integers(0, 20)), sequence=optional(st.integers(0, 20)),
    ),
    st.builds(
        YieldRate, protocol=NAMES, pool=NAMES, asset=NAMES, chain=NAMES, apy=FINITE,
        tvl_usd=optional(FINITE), supply_apy=optional(FINITE), borrow_apy=optional(FINITE),
    ),
    st.builds(
        Liquidation, protocol=NAMES, chain=NAMES, tx_hash=st.text(max_size=6), borrower=NAMES,
        liquidator=NAMES, collateral_asset=NAMES, debt_asset=NAMES, collateral_amount=SIZES,
        debt_amount=SIZES, log_index=optional(INT64),
    ),
    st.builds(GovernanceEvent, protocol=NAMES, proposal_id=st.text(max_size=4),
              event_type=st.text(max_size=8)),
    st.builds(
        BridgeTransfer, chain=NAMES, l2=NAMES, l1_token=ADDRESSES, amount_raw=RAW_INTS,
        from_address=ADDRESSES, to_address=ADDRESSES, bridge=ADDRESSES, block_number=INT64,
        tx_hash=HASHES, log_index=INT64, l2_token=optional(ADDRESSES), token=optional(NAMES),
        amount=optional(FINITE), sequence_number=optional(RAW_INTS),
    ),
    st.builds(
        PoolSwap, chain=NAMES, pool=ADDRESSES, block_number=INT64, tx_hash=HASHES,
        log_index=INT64, dex=optional(NAMES), amount0=optional(RAW_INTS),
        amount1=optional(RAW_INTS), reserve0=optional(RAW_INTS), reserve1=optional(RAW_INTS),
        sqrt_price_x96=optional(RAW_INTS), price=optional(FINITE),
    ),
    st.builds(
        ArbitrageOpportunity, pair=PAIRS, buy_exchange=NAMES, sell_exchange=NAMES,
        buy_price=FLOATS, sell_price=FLOATS, spread_bps=FLOATS, fees_bps=FLOATS,
        net_profit_bps=FLOATS, window_start_ms=INT64, window_end_ms=INT64,
    ),
)  # fmt: skip


@st.composite
def envelopes(draw: st.DrawFn) -> bytes:
    data = draw(DATA)
    event_ms = draw(st.one_of(st.integers(T0 - 10**6, T0 + 10**6), INT64))
    received_ms = draw(st.one_of(st.integers(0, 50).map(lambda d: event_ms + d), INT64))
    header = Header(
        message_id=draw(st.sampled_from(["m-1", "m-2"]) | st.uuids().map(str)),
        timestamp="2025-09-02T10:30:00.123Z",
        source=draw(NAMES),
        message_type=data.message_type,
        version=draw(st.sampled_from(["1.0", "2.0"])),
        event_time_ms=event_ms,
        received_time_ms=received_ms,
    )
    metadata = Metadata(
        latency_ms=draw(FINITE),
        confidence_score=draw(mostly([1.0, 0.98, 0.5, 0.0] * 2, FINITE)),
        data_quality="high",
    )
    try:
        return encode(Envelope(header, data, metadata))
    except (UnicodeEncodeError, OverflowError):
        assume(False)
        raise


@st.composite
def topic_for(draw: st.DrawFn, value: bytes) -> str:
    """Mostly the raw topic the envelope's kind belongs on, sometimes any topic."""
    kind = next((k for k in topics.Kind if f'"{_TYPES[k]}' in value.decode()), None)
    if kind is None or draw(st.booleans()):
        return draw(TOPICS)
    return draw(st.sampled_from([t for t in _RAW if t.startswith(f"market.{kind.value}.")]))


_TYPES = {
    topics.Kind.PRICES: "price_update",
    topics.Kind.TRADES: "trade",
    topics.Kind.ORDERBOOK: "orderbook_",
    topics.Kind.YIELDS: "yield_rate",
    topics.Kind.LIQUIDATIONS: "liquidation",
    topics.Kind.GOVERNANCE: "governance_event",
    topics.Kind.BRIDGES: "bridge_transfer",
    topics.Kind.SWAPS: "pool_swap",
}


VALUES = st.one_of(st.binary(max_size=300), envelopes(), st.none())
RECORDS = st.builds(InRecord, TOPICS, st.integers(0, 2), INT64, INT64, st.none(), VALUES)


def check(result: Result, batch: list[InRecord]) -> None:
    counts = result.counts
    assert counts["in"] == len(batch)
    assert counts["in"] == counts["normalized"] + counts["dead_lettered"] + counts["duplicates"]
    assert len(result.outputs) == counts["normalized"] + counts["dead_lettered"]
    dead = [out for out in result.outputs if out.topic == topics.DEADLETTER]
    assert len(dead) == counts["dead_lettered"]
    assert counts["dead.processing_error"] == 0, [deadletter.decode(o.value) for o in dead]
    assert sum(n for key, n in counts.items() if key.startswith("dead.")) == len(dead)
    sources = iter(batch)
    for out in dead:  # in input order, each with its record's exact bytes
        letter = deadletter.decode(out.value)
        source = next(r for r in sources if r.offset == letter.source_offset)
        original = source.value or b""
        assert letter.original_base64 == original[: deadletter.MAX_ORIGINAL_BYTES]
        assert letter.original_truncated == (len(original) > deadletter.MAX_ORIGINAL_BYTES)
        assert letter.source_topic == source.topic and letter.reason
    normalized = {out.topic for out in result.outputs} - {topics.DEADLETTER}
    assert normalized <= {topics.normalized(kind) for kind in topics.Kind}


def fresh() -> MarketProcessor:
    return MarketProcessor(ProcessorConfig(), clock_ms=lambda: T0)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), TOPICS)
def test_any_bytes_never_raise_and_are_dead_lettered(value: bytes, topic: str) -> None:
    batch = [InRecord(topic, 0, 7, T0, None, value)]
    result = fresh().process(batch)
    check(result, batch)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(envelopes(), st.data())
def test_any_envelope_never_raises_and_is_accounted_for(value: bytes, data: st.DataObject) -> None:
    batch = [InRecord(data.draw(topic_for(value)), 0, 7, T0, None, value)]
    check(fresh().process(batch), batch)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(RECORDS, max_size=12), max_size=5), st.data())
def test_batches_with_rebalances_in_between_balance_exactly(
    batches: list[list[InRecord]], data: st.DataObject
) -> None:
    processor = fresh()
    for i, batch in enumerate(batches):
        # offsets distinct within a batch, so dead letters can be matched to their records
        batch = [InRecord(r.topic, r.partition, j, r.timestamp_ms, r.key, r.value)
                 for j, r in enumerate(batch)]  # fmt: skip
        check(processor.process(batch), batch)
        owned = {(r.topic, r.partition) for r in batch}
        if owned and data.draw(st.booleans(), label=f"rebalance after batch {i}"):
            processor.revoked(sorted(owned)[:1])
            processor.assigned(sorted(owned)[1:])
