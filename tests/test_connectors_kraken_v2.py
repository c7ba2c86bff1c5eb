"""Kraken websocket v2 frames through ccxt.pro's v2 handlers, checked field by field.

No v2 traffic was recorded: the frames are the example payloads of Kraken's documentation,
``tests/fixtures/market/kraken_v2/documented_examples.json`` (PROVENANCE.md there names the page
of each). Frames built here from those, or from a documented schema, say so.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lucent_platform.connectors import ParseResult, RawFrame, connector_for
from lucent_platform.connectors.books import kraken_v2_checksum
from lucent_platform.envelope import decode, encode, iso_to_ms
from tests.market_fixtures import MARKET, envelopes, frames, parse_all

DOCS: dict[str, Any] = json.loads((MARKET / "kraken_v2" / "documented_examples.json").read_text())


def _ms(iso: str) -> int:
    return iso_to_ms(iso.replace("Z", "+00:00"))


def _parse(connector: Any, message: Any, at: int = 1) -> ParseResult:
    return connector.parse(RawFrame("kraken", 1_696_000_000_000_000_000 + at, message))


def test_ticker_snapshot_and_update_equal_the_documented_frames() -> None:
    """The ticker page's snapshot and update examples (ALGO/USD)."""
    messages = [DOCS["ticker_snapshot"], DOCS["ticker_update"]]
    out = envelopes("kraken", frames("kraken", messages))
    assert len(out) == 2
    for message, envelope in zip(messages, out, strict=True):
        t, data = message["data"][0], envelope.data
        assert (data.exchange, data.pair) == ("kraken", "ALGO-USD")
        assert data.price == t["last"]
        assert (data.bid, data.ask) == (t["bid"], t["ask"])
        assert data.spread == t["ask"] - t["bid"]
        assert data.liquidity is not None
        assert (data.liquidity.bid_size, data.liquidity.ask_size) == (t["bid_qty"], t["ask_qty"])
        assert data.volume24h == t["volume"]
        assert data.change24h == t["change_pct"]
        assert envelope.header.event_time_ms == _ms(t["timestamp"])
        assert envelope.header.source == "kraken-websocket"
        assert envelope.metadata.data_quality == "high"
        assert envelope.metadata.quality_flags is None
    assert out[0].header.message_id != out[1].header.message_id  # the ask moved


def test_trades_equal_the_documented_frames() -> None:
    """The trade page's snapshot (two trades) and update examples (MATIC/USD)."""
    messages = [DOCS["trade_snapshot"], DOCS["trade_update"]]
    rows = [row for message in messages for row in message["data"]]
    out = envelopes("kraken", frames("kraken", messages))
    assert len(out) == len(rows) == 3
    for row, envelope in zip(rows, out, strict=True):
        data = envelope.data
        assert (data.exchange, data.pair) == ("kraken", "MATIC-USD")
        assert (data.price, data.amount) == (row["price"], row["qty"])
        assert data.side == row["side"]
        assert data.trade_id == str(row["trade_id"])
        assert envelope.header.event_time_ms == _ms(row["timestamp"])
        assert envelope.metadata.data_quality == "high"
        assert envelope.metadata.quality_flags is None
    assert len({e.header.message_id for e in out}) == 3
    again = envelopes("kraken", frames("kraken", messages[1:], start_ns=5))  # other receive time
    assert again[0].header.message_id == out[2].header.message_id  # the id is the trade's


def test_book_snapshot_then_update_with_correct_checksums() -> None:
    """The book page's ack, snapshot and update examples (MATIC/USD, checksums 2439117997 and
    2114181697); MATIC/USD is not in the shipped markets, so its decimals are found from the
    snapshot's checksum."""
    connector = connector_for("kraken")
    ack = _parse(connector, DOCS["book_subscribe_ack"])
    assert ack.control and not ack.envelopes
    snapshot = _parse(connector, DOCS["book_snapshot"], 2)
    update = _parse(connector, DOCS["book_update"], 3)
    for result in (snapshot, update):
        assert result.rejected is None and result.resnapshot == []
        assert result.envelopes[0].metadata.data_quality == "high"
        assert "MATIC-USD" in result.books  # checksum verified, book maintained
    entry = DOCS["book_snapshot"]["data"][0]
    [sent] = snapshot.envelopes
    assert sent.header.message_type == "orderbook_snapshot"
    assert sent.data.bids == [(lv["price"], lv["qty"]) for lv in entry["bids"]]
    assert sent.data.asks == [(lv["price"], lv["qty"]) for lv in entry["asks"]]
    assert sent.header.event_time_ms == _ms(entry["timestamp"])
    change = DOCS["book_update"]["data"][0]
    [delta] = update.envelopes
    assert delta.header.message_type == "orderbook_delta"
    assert delta.data.bids == [(0.5657, 1098.3947558)] and delta.data.asks == []
    assert delta.header.event_time_ms == _ms(change["timestamp"])
    figures = update.books["MATIC-USD"]
    assert (figures.best_bid, figures.best_ask) == (0.5666, 0.5668)
    assert (figures.bid_levels, figures.ask_levels) == (10, 10)


def test_checksum_guide_example_verifies_with_and_without_markets() -> None:
    """The checksum guide's BTC/USD snapshot (levels as text, checksum 3310070434): checked
    with AssetPairs' decimals (1 and 8), and with decimals found from the checksum."""
    for markets in (None, []):
        result = _parse(connector_for("kraken", markets=markets), DOCS["checksum_guide_snapshot"])
        [envelope] = result.envelopes
        assert envelope.data.pair == "BTC-USD" and "BTC-USD" in result.books
        assert envelope.metadata.data_quality == "high" and result.resnapshot == []
        assert envelope.metadata.quality_flags == ["no_event_time"]  # the guide's has no time
        assert envelope.data.bids[0] == (45283.5, 0.1)
        assert envelope.data.asks[-1] == (45299.5, 0.18772827)


def test_a_corrupted_checksum_asks_for_a_new_snapshot() -> None:
    """The book page's examples with the update's checksum (then a level) altered."""
    connector = connector_for("kraken")
    _parse(connector, DOCS["book_snapshot"])
    corrupted = copy.deepcopy(DOCS["book_update"])
    corrupted["data"][0]["checksum"] += 1
    bad = _parse(connector, corrupted, 2)
    assert bad.resnapshot == ["MATIC-USD"] and "MATIC-USD" not in bad.books
    assert bad.envelopes[0].metadata.data_quality == "low"
    assert bad.envelopes[0].metadata.quality_flags == ["checksum_mismatch"]
    later = _parse(connector, DOCS["book_update"], 3)
    assert later.envelopes[0].metadata.quality_flags == ["no_snapshot"]
    assert later.resnapshot == []  # asked once
    assert _parse(connector, DOCS["book_snapshot"], 4).envelopes[0].metadata.data_quality == "high"
    wrong_size = copy.deepcopy(DOCS["book_update"])
    wrong_size["data"][0]["bids"][0]["qty"] = 1098.39  # a size the venue did not send
    assert _parse(connector, wrong_size, 5).resnapshot == ["MATIC-USD"]


def test_a_snapshot_with_a_wrong_checksum_is_not_trusted() -> None:
    """The book page's snapshot with its checksum altered: no decimals reproduce it."""
    corrupted = copy.deepcopy(DOCS["book_snapshot"])
    corrupted["data"][0]["checksum"] = 12345
    result = _parse(connector_for("kraken"), corrupted)
    assert result.resnapshot == ["MATIC-USD"] and result.books == {}
    assert result.envelopes[0].metadata.quality_flags == ["checksum_mismatch"]


def test_an_update_without_a_snapshot_is_published_as_low_quality() -> None:
    """The book page's update example arriving first."""
    connector = connector_for("kraken")
    first = _parse(connector, DOCS["book_update"])
    assert first.resnapshot == ["MATIC-USD"]
    assert first.envelopes[0].metadata.quality_flags == ["no_snapshot"]
    assert _parse(connector, DOCS["book_update"], 2).resnapshot == []


def test_the_book_is_cut_to_the_subscribed_depth() -> None:
    """The book page's snapshot, then an update (built here) inserting a best bid: the 11th bid
    falls out of the depth-10 book without a removal, as Kraken's book guide says."""
    connector = connector_for("kraken")
    _parse(connector, DOCS["book_snapshot"])
    entry = DOCS["book_snapshot"]["data"][0]
    bids = [(0.5667, 5.0)] + [(lv["price"], lv["qty"]) for lv in entry["bids"][:9]]
    asks = [(lv["price"], lv["qty"]) for lv in entry["asks"]]
    update = {"channel": "book", "type": "update", "data": [{
        "symbol": "MATIC/USD", "bids": [{"price": 0.5667, "qty": 5.0}], "asks": [],
        "checksum": kraken_v2_checksum(asks, bids, 4, 8), "timestamp": "2023-10-06T17:35:56Z",
    }]}  # fmt: skip
    result = _parse(connector, update, 2)
    assert result.resnapshot == [] and result.envelopes[0].metadata.data_quality == "high"
    assert result.books["MATIC-USD"].bid_levels == 10
    assert result.books["MATIC-USD"].best_bid == 0.5667


def test_a_thin_snapshot_keeps_all_its_levels() -> None:
    """The book page's snapshot cut (here) to 2 asks and 4 bids: ccxt sizes its book by the
    asks, which would drop two bids; the book is the frame's, and its checksum holds."""
    entry = copy.deepcopy(DOCS["book_snapshot"]["data"][0])
    entry["asks"], entry["bids"] = entry["asks"][:2], entry["bids"][:4]
    levels = [[(lv["price"], lv["qty"]) for lv in entry[side]] for side in ("asks", "bids")]
    entry["checksum"] = kraken_v2_checksum(*levels, 4, 8)
    result = _parse(connector_for("kraken"), {**DOCS["book_snapshot"], "data": [entry]})
    assert result.envelopes[0].metadata.data_quality == "high"
    assert (result.books["MATIC-USD"].ask_levels, result.books["MATIC-USD"].bid_levels) == (2, 4)
    assert result.envelopes[0].data.bids == levels[1]


def test_control_frames() -> None:
    """Status, heartbeat, pong and subscription acks as documented; an error ack built from the
    documented ack schema (``success`` false with an ``error``)."""
    connector = connector_for("kraken")
    names = ["status", "heartbeat", "pong", "ticker_subscribe_ack", "trade_unsubscribe_ack"]
    for name in names:
        result = _parse(connector, DOCS[name])
        assert result.control and not result.envelopes, name
        assert result.rejected is None and result.skipped is None, name
    error = {
        "method": "subscribe",
        "success": False,
        "error": "Currency pair not supported",
        "time_in": "2023-09-25T09:04:31.742599Z",
        "time_out": "2023-09-25T09:04:31.742648Z",
    }
    result = _parse(connector, error)
    assert result.control and result.skipped == "venue error: Currency pair not supported"


def test_garbage_v2_frames_are_rejected_with_a_reason() -> None:
    """Documented frames broken in one place each, plus v2-shaped nonsense."""
    ticker = DOCS["ticker_snapshot"]
    trade = DOCS["trade_update"]
    book = DOCS["book_update"]
    cases = {
        "unknown channel": {"channel": "nope", "type": "update", "data": []},
        "bad shape: channel": {"channel": 5},
        "unknown channel: method": {"method": "add_order", "success": True},
        "bad shape: success": {"method": "subscribe", "success": "yes"},
        "bad shape: type": {**ticker, "type": "partial"},
        "bad shape: no data": {**ticker, "data": []},
        "bad shape: data entry": {**ticker, "data": ["ALGO/USD"]},
        "bad shape: symbol": {**ticker, "data": [{**ticker["data"][0], "symbol": None}]},
        "unknown pair": {**ticker, "data": [{**ticker["data"][0], "symbol": "ALGOUSD"}]},
        "bad number: bid": {**ticker, "data": [{**ticker["data"][0], "bid": "x"}]},
        "bad number: trade price": {**trade, "data": [{**trade["data"][0], "price": -1}]},
        "bad shape: side": {**trade, "data": [{**trade["data"][0], "side": "b"}]},
        "bad integer: trade_id": {**trade, "data": [{**trade["data"][0], "trade_id": "x"}]},
        "bad time": {**trade, "data": [{**trade["data"][0], "timestamp": "yesterday"}]},
        "bad levels: bids": {**book, "data": [{**book["data"][0], "bids": [[0.5, 1]]}]},
        "bad number: bids qty": {**book, "data": [{**book["data"][0], "bids": [{"price": 1}]}]},
        "bad integer: checksum": {**book, "data": [{**book["data"][0], "checksum": 2**40}]},
    }
    connector = connector_for("kraken")
    for reason, message in cases.items():
        result = _parse(connector, message)
        assert (result.rejected or "").startswith(reason), (reason, result)
        assert not result.envelopes
    assert _parse(connector, {**ticker, "channel": "ohlc"}).skipped is not None


def test_incomplete_v2_ticker_is_rejected_not_guessed() -> None:
    """A ticker entry with only a bid (built here) gives no made-up price."""
    v2 = {"channel": "ticker", "type": "snapshot", "data": [{"symbol": "BTC/USD", "bid": 1}]}
    result = _parse(connector_for("kraken"), v2)
    assert result.rejected == "missing field: a ticker needs a last price or bid and ask"


def _all_documented() -> list[Any]:
    return [DOCS[name] for name in DOCS]


def test_pairs_missing_from_the_markets_still_parse_identically() -> None:
    raw = frames("kraken", _all_documented())
    assert envelopes("kraken", raw, markets=[]) == envelopes("kraken", raw)


def test_parsing_twice_gives_identical_envelopes() -> None:
    raw = frames("kraken", _all_documented())
    first = envelopes("kraken", raw)
    assert len(first) == 8 and first == envelopes("kraken", raw)
    assert all(r.rejected is None for r in parse_all(connector_for("kraken"), raw))


KRAKEN = connector_for("kraken")
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.sampled_from(["BTC/USD", "snapshot", "update", "book", "0.5", "2023-10-06T17:35:55Z"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["price", "qty", "symbol", "data"]), children, max_size=3),
    max_leaves=10,
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_documented_frames_with_one_value_replaced_never_raise(data: st.DataObject) -> None:
    message = copy.deepcopy(data.draw(st.sampled_from(_all_documented())))
    node = message
    while isinstance(node, dict | list) and node:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = data.draw(st.sampled_from(keys))
        if data.draw(st.booleans()) or not isinstance(node[key], dict | list):
            node[key] = data.draw(values)
            break
        node = node[key]
    result = _parse(KRAKEN, message)
    if result.rejected is not None:
        assert ":" in result.rejected and not result.envelopes
    for envelope in result.envelopes:
        assert decode(encode(envelope)) == envelope
