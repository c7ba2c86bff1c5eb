"""Validation: every check's named reason, with real-looking values, and its thresholds."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from lucent_platform.envelope import Header
from lucent_platform.messages import (
    Liquidation,
    Liquidity,
    OrderBookDelta,
    OrderBookSnapshot,
    PriceUpdate,
    Trade,
    YieldRate,
)
from lucent_platform.processing import ValidationConfig
from lucent_platform.processing.validation import (
    check_delta,
    check_liquidation,
    check_price_update,
    check_snapshot,
    check_times,
    check_trade,
    check_yield,
)

DEFAULT = ValidationConfig()
INF, NAN = float("inf"), float("nan")
T0 = 1_756_809_000_000

# Binance ETH-USDC as in the design record.
TICKER = PriceUpdate(
    exchange="binance", pair="ETH-USDC", price=2847.52, volume24h=1234567.89, change24h=2.45,
    bid=2847.40, ask=2847.60, spread=0.20, liquidity=Liquidity(bid_size=100.5, ask_size=85.3),
)  # fmt: skip


def reason(failure: Any) -> str | None:
    return None if failure is None else str(failure[0])


def test_the_design_record_ticker_is_valid() -> None:
    assert check_price_update(TICKER, DEFAULT) is None
    bare = PriceUpdate(exchange="chainlink", pair="ETH-USD", price=2847.1)  # an oracle round
    assert check_price_update(bare, DEFAULT) is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"price": 0.0}, "invalid_price"),
        ({"price": -2847.52}, "invalid_price"),
        ({"price": NAN}, "invalid_price"),
        ({"price": INF}, "invalid_price"),
        ({"bid": 0.0, "spread": 2847.6}, "invalid_price"),
        ({"change24h": NAN}, "invalid_price"),
        ({"volume24h": -1.0}, "invalid_volume"),
        ({"volume24h": INF}, "invalid_volume"),
        ({"liquidity": Liquidity(bid_size=-3.0, ask_size=85.3)}, "invalid_volume"),
        ({"bid": 2847.70, "ask": 2847.60, "spread": -0.10}, "crossed_quote"),
        ({"spread": 0.25}, "inconsistent_spread"),
        ({"bid": 2700.0, "ask": 3000.0, "spread": 300.0}, "spread_too_wide"),  # ≈ 1,053 bps
    ],
)
def test_ticker_failures_have_named_reasons(changes: dict[str, Any], expected: str) -> None:
    ticker = msgspec.structs.replace(TICKER, **changes)
    failure = check_price_update(ticker, DEFAULT)
    assert reason(failure) == expected and failure is not None and failure[1]


def test_a_locked_quote_and_venue_rounding_of_the_spread_pass() -> None:
    locked = msgspec.structs.replace(TICKER, bid=2847.6, ask=2847.6, spread=0.0)
    assert check_price_update(locked, DEFAULT) is None
    # 2847.60 - 2847.40 is 0.19999999999981810 in floats
    assert check_price_update(msgspec.structs.replace(TICKER, spread=0.2), DEFAULT) is None


def test_price_bounds_apply_per_pair_when_configured() -> None:
    bounded = ValidationConfig(price_bounds={"ETH-USDC": (100.0, 100_000.0)})
    assert check_price_update(TICKER, bounded) is None
    assert reason(check_price_update(msgspec.structs.replace(TICKER, price=28.47), bounded)) == (
        "price_out_of_bounds"
    )
    other = msgspec.structs.replace(TICKER, pair="BTC-USDT", price=28.47, bid=None, ask=None)
    assert check_price_update(other, bounded) is None
    with pytest.raises(ValueError, match="bounds"):
        ValidationConfig(price_bounds={"ETH-USDC": (10.0, 1.0)})


def test_spread_limit_is_configurable() -> None:
    wide = msgspec.structs.replace(TICKER, bid=2840.0, ask=2855.0, spread=15.0)  # ≈ 52.7 bps
    assert check_price_update(wide, DEFAULT) is None
    assert reason(check_price_update(wide, ValidationConfig(max_spread_bps=50.0))) == (
        "spread_too_wide"
    )


def test_trades() -> None:
    # The recorded Binance aggTrade 665076760.
    trade = Trade(exchange="binance", pair="BTC-USDT", price=58001.03, amount=0.086205,
                  trade_id="665076760", side="sell")  # fmt: skip
    assert check_trade(trade, DEFAULT) is None
    for amount in (0.0, -0.086205, INF, NAN):
        assert reason(check_trade(msgspec.structs.replace(trade, amount=amount), DEFAULT)) == (
            "invalid_volume"
        )
    assert reason(check_trade(msgspec.structs.replace(trade, price=-1.0), DEFAULT)) == (
        "invalid_price"
    )


# The recorded Binance DOTUSDT depth snapshot.
SNAPSHOT = OrderBookSnapshot(
    exchange="binance", pair="DOT-USDT", sequence=1513939277,
    bids=[(43.5224, 0.28), (43.522, 4.59)], asks=[(43.5225, 625.7), (43.5257, 22.08)],
)  # fmt: skip


@pytest.mark.parametrize(
    ("bids", "asks", "expected"),
    [
        ([(43.5224, 0.28), (43.522, 4.59)], [(43.5225, 625.7), (43.5257, 22.08)], None),
        ([], [(43.5225, 625.7)], None),  # one-sided: a thin DEX book
        ([(43.522, 4.59), (43.5224, 0.28)], [(43.5225, 625.7)], "invalid_book"),  # unsorted
        ([(43.5224, 0.28)], [(43.5257, 22.08), (43.5225, 625.7)], "invalid_book"),
        ([(43.5224, 0.0)], [(43.5225, 625.7)], "invalid_book"),  # empty level in a snapshot
        ([(-43.5224, 0.28)], [(43.5225, 625.7)], "invalid_book"),
        ([(43.5224, 0.28)], [(43.5225, NAN)], "invalid_book"),
        ([(43.5226, 0.28)], [(43.5225, 625.7)], "crossed_book"),
        ([(43.5225, 0.28)], [(43.5225, 625.7)], "crossed_book"),  # locked book
    ],
)
def test_snapshots(bids: list[Any], asks: list[Any], expected: str | None) -> None:
    book = msgspec.structs.replace(SNAPSHOT, bids=bids, asks=asks)
    assert reason(check_snapshot(book, DEFAULT)) == expected


# The recorded Binance ETHUSDT depthUpdate.
DELTA = OrderBookDelta(
    exchange="binance", pair="ETH-USDT", first_sequence=6591598764, sequence=6591598769,
    bids=[(2033.0, 175.43634)], asks=[(2066.07, 0.0), (2066.66, 55.41648)],
)  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, None),
        ({"bids": [(2033.0, 0.0)], "asks": [(2030.0, 0.0)]}, None),  # removals never cross
        ({"bids": [(2033.0, -1.0)]}, "invalid_book"),
        ({"asks": [(0.0, 1.0)]}, "invalid_book"),
        ({"first_sequence": 6591598770}, "invalid_book"),
        ({"bids": [(2070.0, 1.0)]}, "crossed_book"),
    ],
)
def test_deltas(changes: dict[str, Any], expected: str | None) -> None:
    assert reason(check_delta(msgspec.structs.replace(DELTA, **changes), DEFAULT)) == expected


# The recorded Aave v1 ReserveUpdated of the ETH reserve.
YIELD = YieldRate(protocol="aave-v1", pool="eth-lending", asset="ETH", chain="ethereum",
                  apy=0.9481, supply_apy=0.9481, borrow_apy=3.0406, tvl_usd=2.5e9)  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, None),
        ({"apy": 14.0}, None),  # a spike is news, not an error
        ({"apy": -100.0}, None),
        ({"apy": -100.5}, "invalid_yield"),
        ({"apy": 10_000.1}, "invalid_yield"),
        ({"apy": NAN}, "invalid_yield"),
        ({"borrow_apy": INF}, "invalid_yield"),
        ({"tvl_usd": -1.0}, "invalid_yield"),
    ],
)
def test_yields(changes: dict[str, Any], expected: str | None) -> None:
    assert reason(check_yield(msgspec.structs.replace(YIELD, **changes), DEFAULT)) == expected


def test_liquidation_amounts() -> None:
    liquidation = Liquidation(
        protocol="aave-v1", chain="ethereum", tx_hash="0x97afae49", borrower="0xcf11",
        liquidator="0xf453", collateral_asset="DAI", debt_asset="BAT",
        collateral_amount=469.417545725083, debt_amount=1418.69632,
    )  # fmt: skip
    assert check_liquidation(liquidation, DEFAULT) is None
    negative = msgspec.structs.replace(liquidation, debt_amount=-1418.69632)
    assert reason(check_liquidation(negative, DEFAULT)) == "invalid_volume"


def header(event_ms: int, received_ms: int) -> Header:
    return Header(message_id="m", timestamp="", source="binance-websocket",
                  message_type="price_update", version="2.0", event_time_ms=event_ms,
                  received_time_ms=received_ms)  # fmt: skip


@pytest.mark.parametrize(
    ("event_ms", "received_ms", "expected"),
    [
        (T0, T0 + 15, None),
        (T0 + 30, T0, None),  # venue clock a little ahead
        (T0 + 5_001, T0, "future_timestamp"),
        (T0 - 30_000, T0, None),
        (T0 - 30_001, T0, "stale_event"),
        (T0 - 400_000, T0, "stale_event"),  # the simulator's late messages: minutes behind
    ],
)
def test_timestamp_drift_is_judged_by_the_message_own_clocks(
    event_ms: int, received_ms: int, expected: str | None
) -> None:
    # The processor's clock a year later: a replay is judged exactly as the live run was.
    a_year_later = T0 + 365 * 86_400_000
    failure = check_times(header(event_ms, received_ms), 30_000, a_year_later, DEFAULT)
    assert reason(failure) == expected


def test_defi_latency_limit_and_clock_skew_are_opt_in() -> None:
    old_block = header(T0 - 3_600_000, T0)
    assert check_times(old_block, None, T0, DEFAULT) is None
    skewed = ValidationConfig(max_clock_skew_ms=60_000)
    assert check_times(header(T0, T0 + 15), 30_000, T0 + 60_015, skewed) is None
    assert reason(check_times(header(T0, T0 + 15), 30_000, T0 + 60_016, skewed)) == "clock_skew"
