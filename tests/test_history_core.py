"""The backfills' pure core: instrument keys, day windows, paging, rows and gaps."""

from __future__ import annotations

from datetime import UTC, date, datetime

import dagster as dg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lucent_platform.history import (
    InstrumentKey,
    InstrumentKeyError,
    Window,
    day_window,
    missing_candles,
    parse_instrument_key,
)
from lucent_platform.history.days import previous_day
from lucent_platform.history.instruments import new_instruments
from lucent_platform.history.paging import CandlePager, PagingError, TradePager
from lucent_platform.history.rows import candle_rows, trade_rows

BTC = InstrumentKey("binance", "BTC-USDT")
MINUTE = 60_000


def test_instrument_keys_round_trip_and_suit_dagster() -> None:
    key = parse_instrument_key("binance:BTC-USDT")
    assert key == BTC and key.key == "binance:BTC-USDT" and key.symbol == "BTC/USDT"
    # a valid key is a valid dimension of a multi-partition key
    partitions = dg.MultiPartitionsDefinition(
        {"date": dg.StaticPartitionsDefinition(["2025-11-10"]),
         "instrument": dg.StaticPartitionsDefinition([key.key])}
    )  # fmt: skip
    assert partitions.get_partition_keys() == ["2025-11-10|binance:BTC-USDT"]


@pytest.mark.parametrize(
    "text", ["binance", "Binance:BTC-USDT", "binance:btc-usdt", "binance:BTC/USDT",
             "binance:BTC-USDT|x", "bin,ance:BTC-USDT", ":BTC-USDT", "binance:"]
)  # fmt: skip
def test_malformed_instrument_keys_are_refused(text: str) -> None:
    with pytest.raises(InstrumentKeyError):
        parse_instrument_key(text)


@given(st.text(max_size=40))
def test_any_text_is_a_key_or_a_clear_error(text: str) -> None:
    try:
        key = parse_instrument_key(text)
    except InstrumentKeyError:
        return
    assert key.key == text
    assert not set(text) & {"|", ",", "[", "]"} and "..." not in text


def test_new_instruments_are_the_unknown_backfillable_ones() -> None:
    seen = [("binance", "BTC-USDT"), ("kraken", "ETH-USD"), ("simex", "BTC-USDT"),
            ("binance", "not a pair"), ("kraken", "ETH-USD")]  # fmt: skip
    known = ["binance:BTC-USDT"]
    new = new_instruments(seen, known, frozenset({"binance", "kraken"}))
    assert [i.key for i in new] == ["kraken:ETH-USD"]


def test_day_windows_and_yesterday() -> None:
    window = day_window("2021-10-22")
    assert window == Window(1_634_860_800_000, 1_634_947_200_000)
    assert window.start == datetime(2021, 10, 22, tzinfo=UTC)
    assert day_window(date(2021, 10, 22)) == window
    assert previous_day(datetime(2025, 11, 11, 0, 30, tzinfo=UTC)) == date(2025, 11, 10)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        day_window("22/10/2021")


def walk_candles(pager: CandlePager, times: list[int]) -> list[tuple[int, int]]:
    """Drive ``pager`` against an API holding candles at ``times``; the requests sent."""
    asked = []
    while (ask := pager.next_request()) is not None:
        asked.append((ask.since, ask.until))
        page = [t for t in times if ask.since <= t <= ask.until][: ask.limit]
        pager.advance(page)
    return asked


def test_candle_pages_walk_the_day_and_stop_at_its_end() -> None:
    window = Window(0, 10 * MINUTE)
    times = [t * MINUTE for t in range(10)]
    asked = walk_candles(CandlePager(window, MINUTE, 4), times)
    assert asked == [(0, 10 * MINUTE - 1), (4 * MINUTE, 10 * MINUTE - 1),
                     (8 * MINUTE, 10 * MINUTE - 1)]  # fmt: skip


def test_an_empty_page_ends_an_unbounded_walk_but_not_a_bounded_one() -> None:
    window = Window(0, 10 * MINUTE)
    late = [8 * MINUTE, 9 * MINUTE]  # nothing for the first eight minutes
    assert walk_candles(CandlePager(window, MINUTE, 3), []) == [(0, 10 * MINUTE - 1)]
    asked = walk_candles(CandlePager(window, MINUTE, 3, bounded=True), late)
    assert asked == [(0, 3 * MINUTE - 1), (3 * MINUTE, 6 * MINUTE - 1),
                     (6 * MINUTE, 9 * MINUTE - 1), (9 * MINUTE, 10 * MINUTE - 1)]  # fmt: skip


def test_an_api_ignoring_since_cannot_loop_forever() -> None:
    pager = CandlePager(Window(0, 10 * MINUTE), MINUTE, 2, max_pages=5)
    pager.next_request()
    pager.advance([0, MINUTE])
    pager.next_request()
    pager.advance([0, MINUTE])  # the same page again: nothing ahead of the cursor
    assert pager.next_request() is None


def test_trade_pages_continue_at_the_last_millisecond_and_span_by_span() -> None:
    window = Window(0, 7_200_000)  # two hours, one-hour spans
    pager = TradePager(window, limit=2, span_ms=3_600_000)
    trades = [10, 10, 10, 20, 3_700_000]
    asked, got = [], []
    while (ask := pager.next_request()) is not None:
        asked.append((ask.since, ask.until))
        page = [t for t in trades if ask.since <= t <= ask.until][: ask.limit]
        got += page
        pager.advance(page)
    # full pages continue at 10 (the third trade at 10 is still fetched), then 10 → 11 only
    # when a full page holds nothing newer; the short page moves to the next hour
    assert asked[0] == (0, 3_599_999)
    assert sorted(set(got)) == [10, 20, 3_700_000]
    assert asked[-1][0] >= 3_600_000
    with pytest.raises(PagingError):
        stuck = TradePager(window, limit=1, span_ms=None, max_pages=3)
        while (ask := stuck.next_request()) is not None:
            stuck.advance([ask.since + 1])


def test_candle_rows_keep_the_window_once_per_open_time() -> None:
    window = Window(0, 3 * MINUTE)
    ohlcv = [[MINUTE, 1, 2, 0.5, 1.5, 10], [0, 1, 1, 1, 1, 0], [MINUTE, 1, 2, 0.5, 1.6, 11],
             [3 * MINUTE, 9, 9, 9, 9, 9], [2 * MINUTE, 1, None, 1, 1, 1]]  # fmt: skip
    rows = candle_rows(BTC, "1m", ohlcv, window)
    assert [(r[3], r[7]) for r in rows.rows] == [
        (datetime(1970, 1, 1, tzinfo=UTC), 1.0),
        (datetime(1970, 1, 1, 0, 1, tzinfo=UTC), 1.6),  # the later copy wins
    ]
    assert (rows.outside_window, rows.duplicates, rows.incomplete) == (1, 1, 1)


def test_trade_rows_dedupe_by_id_and_key_id_less_trades_by_content() -> None:
    window = Window(0, 1000)
    trades = [
        {"id": "7", "timestamp": 5, "price": 10.0, "amount": 1.0, "side": "buy"},
        {"id": "7", "timestamp": 5, "price": 10.0, "amount": 1.0, "side": "buy"},
        {"id": None, "timestamp": 6, "price": 11.0, "amount": 2.0, "side": "weird"},
        {"id": "8", "timestamp": 1000, "price": 1.0, "amount": 1.0, "side": "sell"},
        {"id": "9", "timestamp": 7, "price": None, "amount": 1.0, "side": "sell"},
    ]
    rows = trade_rows(BTC, trades, window)
    assert [(r[2], r[4], r[6]) for r in rows.rows] == [
        ("7", 10.0, "buy"),
        ("6:11.0:2.0:None", 11.0, None),
    ]
    assert (rows.duplicates, rows.outside_window, rows.incomplete) == (1, 1, 1)


def test_missing_candles() -> None:
    window = Window(0, 10 * MINUTE)
    gaps = missing_candles([0, MINUTE, 4 * MINUTE, 5 * MINUTE, 11 * MINUTE], window, MINUTE)
    assert [(g.start_ms // MINUTE, g.end_ms // MINUTE, g.candles) for g in gaps] == [
        (2, 4, 2), (6, 10, 4)
    ]  # fmt: skip
    assert missing_candles([], window, MINUTE)[0].candles == 10
    assert missing_candles(range(0, 10 * MINUTE, MINUTE), window, MINUTE) == []
