"""Kraken websocket v1 recorded frames through ccxt's Kraken parsers, checked field by field."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from lucent_platform.connectors import RawFrame, connector_for
from tests.market_fixtures import envelopes, frames, jsonl, parse_all

PAIRS = {"XBT/USD": "BTC-USD", "ALGO/XBT": "ALGO-BTC", "DASH/EUR": "DASH-EUR", "FIL/XBT": "FIL-BTC"}


def _ms(seconds: str) -> int:
    return int(Decimal(seconds) * 1000)


def test_tickers_equal_the_recorded_frames() -> None:
    messages = jsonl("kraken/ws_ticker.jsonl")
    out = envelopes("kraken", frames("kraken", messages))
    assert len(out) == len(messages)
    for message, envelope in zip(messages, out, strict=True):
        t, data = message[1], envelope.data
        assert data.pair == PAIRS.get(message[-1], data.pair)
        last, open24 = float(t["c"][0]), float(t["o"][1])
        assert data.price == last
        assert (data.bid, data.ask) == (float(t["b"][0]), float(t["a"][0]))
        assert data.liquidity is not None
        assert (data.liquidity.bid_size, data.liquidity.ask_size) == (
            float(t["b"][2]),
            float(t["a"][2]),
        )
        assert data.volume24h == float(t["v"][1])  # index 1: the last 24 hours
        assert abs(data.change24h - (last - open24) / open24 * 100) < 1e-9
        assert envelope.metadata.data_quality == "high"
        assert envelope.metadata.quality_flags == ["no_event_time"]  # v1 tickers carry no time


def test_trades_equal_the_recorded_rows() -> None:
    messages = jsonl("kraken/ws_trade.jsonl")
    rows = [(row, message[-1]) for message in messages for row in message[1]]
    out = envelopes("kraken", frames("kraken", messages))
    assert len(out) == len(rows) == 28
    for (row, wsname), envelope in zip(rows, out, strict=True):
        data = envelope.data
        assert data.pair == PAIRS[wsname]
        assert (data.price, data.amount) == (float(row[0]), float(row[1]))
        assert data.side == {"b": "buy", "s": "sell"}[row[3]]
        assert envelope.header.event_time_ms == _ms(row[2])
        assert data.trade_id is None  # v1 trades have no id…
        assert envelope.metadata.quality_flags == ["missing:tradeId"]
    assert len({e.header.message_id for e in out}) == len(out)  # …the message ids still differ


def test_book_snapshots_and_updates_equal_the_recording() -> None:
    messages = jsonl("kraken/ws_book.jsonl")
    results = parse_all(connector_for("kraken"), frames("kraken", messages))
    snapshots = 0
    for message, result in zip(messages, results, strict=True):
        assert result.rejected is None and result.resnapshot == []
        [envelope] = result.envelopes
        payloads = message[1:-2]
        times = [_ms(lv[2]) for p in payloads for k in p if k != "c" for lv in p[k]]
        assert envelope.header.event_time_ms == max(times)
        assert envelope.metadata.data_quality == "high"
        if "as" in payloads[0]:
            snapshots += 1
            asks, bids = payloads[0]["as"], payloads[0]["bs"]
            assert envelope.data.asks == [(float(p), float(s)) for p, s, _ in asks[:25]]
            assert envelope.data.bids == [(float(p), float(s)) for p, s, _ in bids[:25]]
            continue
        asks = [lv for p in payloads for lv in p.get("a", [])]
        bids = [lv for p in payloads for lv in p.get("b", [])]
        assert envelope.data.asks == [(float(lv[0]), float(lv[1])) for lv in asks]
        assert envelope.data.bids == [(float(lv[0]), float(lv[1])) for lv in bids]
        assert PAIRS.get(message[-1], envelope.data.pair) == envelope.data.pair
        assert envelope.data.pair in result.books  # checksum verified, book maintained
    assert snapshots == 10


def test_checksum_mismatch_asks_for_a_new_snapshot() -> None:
    messages = jsonl("kraken/ws_book.jsonl")
    connector = connector_for("kraken")
    parse_all(connector, frames("kraken", messages[:10]))  # the ten snapshots
    updates = [m for m in messages[10:] if m[-1] == "XBT/USD"]
    corrupted = _with_size(updates[0], "0.12345678")  # a size the venue did not send
    bad = connector.parse(RawFrame("kraken", 2, corrupted))
    assert bad.resnapshot == ["BTC-USD"]
    assert bad.envelopes[0].metadata.data_quality == "low"
    assert bad.envelopes[0].metadata.quality_flags == ["checksum_mismatch"]
    later = [connector.parse(RawFrame("kraken", 3 + i, m)) for i, m in enumerate(updates[1:20])]
    assert all(r.envelopes[0].metadata.quality_flags == ["no_snapshot"] for r in later)
    assert all(r.resnapshot == [] for r in later)  # asked once
    again = connector.parse(RawFrame("kraken", 99, messages[0]))  # a snapshot: trusted again
    assert again.envelopes[0].metadata.data_quality == "high"


def test_events_are_control_frames() -> None:
    results = parse_all(connector_for("kraken"), frames("kraken", jsonl("kraken/ws_events.jsonl")))
    assert all(r.control and not r.envelopes and r.rejected is None for r in results)
    error = connector_for("kraken").parse(
        RawFrame(
            "kraken",
            1,
            {
                "errorMessage": "Currency pair not supported",
                "event": "subscriptionStatus",
                "pair": "XBT/EUX",
                "status": "error",
                "subscription": {"name": "ticker"},
            },
        )
    )
    assert error.control and error.skipped == "venue error: Currency pair not supported"


def test_pairs_missing_from_the_markets_still_parse_identically() -> None:
    raw = frames(
        "kraken",
        jsonl("kraken/ws_ticker.jsonl")
        + jsonl("kraken/ws_trade.jsonl")
        + jsonl("kraken/ws_book.jsonl")[:200],
    )
    assert envelopes("kraken", raw, markets=[]) == envelopes("kraken", raw)


def test_parsing_twice_gives_identical_envelopes() -> None:
    raw = frames("kraken", jsonl("kraken/ws_book.jsonl") + jsonl("kraken/ws_trade.jsonl"))
    first = envelopes("kraken", raw)
    assert first == envelopes("kraken", raw)


def _with_size(message: list[Any], size: str) -> list[Any]:
    changed = copy.deepcopy(message)
    for payload in changed[1:-2]:
        for key in ("a", "b"):
            for level in payload.get(key, []):
                if float(level[1]) > 0:
                    level[1] = size
                    return changed
    raise AssertionError("no level to change")


def test_unknown_pairs_are_renamed_once() -> None:
    """ccxt renames Kraken's LUNA2 to LUNA and LUNA to LUNC: a LUNA2 pair must end up LUNA."""
    ticker = jsonl("kraken/ws_ticker.jsonl")[0]
    [envelope] = envelopes("kraken", frames("kraken", [[*ticker[:-1], "LUNA2/USD"]]))
    assert envelope.data.pair == "LUNA-USD"
    [envelope] = envelopes("kraken", frames("kraken", [[*ticker[:-1], "XDG/EUR"]]), markets=[])
    assert envelope.data.pair == "DOGE-EUR"


def test_spread_frames_give_mid_prices() -> None:
    """Kraken's documented v1 spread example (none was recorded)."""
    frame = [0, ["5698.40000", "5700.00000", "1542057299.545897", "1.01234567", "0.98765432"]]
    [envelope] = envelopes("kraken", frames("kraken", [[*frame, "spread", "XBT/USD"]]))
    data = envelope.data
    assert (data.pair, data.bid, data.ask, data.price) == ("BTC-USD", 5698.4, 5700.0, 5699.2)
    assert data.liquidity is not None and data.liquidity.ask_size == 0.98765432
    assert envelope.header.event_time_ms == 1542057299545
