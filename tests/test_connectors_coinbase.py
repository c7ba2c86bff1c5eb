"""Coinbase Exchange recorded frames through ccxt.pro.coinbaseexchange, checked field by field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lucent_platform.connectors import RawFrame, connector_for
from tests.market_fixtures import envelopes, frames, jsonl, parse_all


def _ms(text: str) -> int:
    return (datetime.fromisoformat(text) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
        milliseconds=1
    )


def test_tickers_equal_the_recorded_frames() -> None:
    messages = jsonl("coinbase/ws_ticker.jsonl")
    out = envelopes("coinbase", frames("coinbase", messages))
    assert len(out) == len(messages)
    for message, envelope in zip(messages, out, strict=True):
        data, last, opened = envelope.data, float(message["price"]), float(message["open_24h"])
        assert data.pair == message["product_id"]  # Coinbase ids are our pairs already
        assert data.price == last
        assert (data.bid, data.ask) == (float(message["best_bid"]), float(message["best_ask"]))
        assert data.spread == data.ask - data.bid
        assert data.volume24h == float(message["volume_24h"])
        assert abs(data.change24h - (last - opened) / opened * 100) < 1e-9
        assert envelope.header.event_time_ms == _ms(message["time"])
        # this (2021) feed had no best_bid_size/best_ask_size: no liquidity, quality medium
        assert data.liquidity is None
        assert envelope.metadata.data_quality == "medium"
        assert envelope.metadata.quality_flags == ["missing:liquidity"]
        assert envelope.metadata.confidence_score == 0.8


def test_matches_equal_the_recorded_frames_with_the_taker_side() -> None:
    messages = jsonl("coinbase/ws_match.jsonl")
    out = envelopes("coinbase", frames("coinbase", messages))
    assert len(out) == len(messages)
    for message, envelope in zip(messages, out, strict=True):
        data = envelope.data
        assert data.pair == message["product_id"]
        assert (data.price, data.amount) == (float(message["price"]), float(message["size"]))
        assert data.trade_id == str(message["trade_id"])
        # the frame's side is the maker order's; the taker took the other side
        assert data.side == {"buy": "sell", "sell": "buy"}[message["side"]]
        assert envelope.header.event_time_ms == _ms(message["time"])
        assert envelope.metadata.data_quality == "high"


def test_snapshots_and_l2updates_equal_the_recording() -> None:
    snapshots = jsonl("coinbase/ws_snapshot.jsonl")
    updates = jsonl("coinbase/ws_l2update.jsonl")
    connector = connector_for("coinbase")
    results = parse_all(connector, frames("coinbase", snapshots + updates))
    for message, result in zip(snapshots, results, strict=False):
        [envelope] = result.envelopes
        assert envelope.data.bids == [(float(p), float(s)) for p, s in message["bids"][:25]]
        assert envelope.data.asks == [(float(p), float(s)) for p, s in message["asks"][:25]]
        assert envelope.metadata.quality_flags == ["no_event_time"]  # snapshots carry no time
    for message, result in zip(updates, results[len(snapshots) :], strict=True):
        [envelope] = result.envelopes
        changes = message["changes"]
        assert envelope.data.bids == [
            (float(p), float(s)) for side, p, s in changes if side == "buy"
        ]
        assert envelope.data.asks == [
            (float(p), float(s)) for side, p, s in changes if side == "sell"
        ]
        assert envelope.header.event_time_ms == _ms(message["time"])
        assert envelope.metadata.data_quality == "high"
        figures = result.books[envelope.data.pair]
        assert figures.best_bid < figures.best_ask


def test_updates_before_a_snapshot_are_low_and_ask_for_one_once() -> None:
    updates = jsonl("coinbase/ws_l2update.jsonl")[:50]
    results = parse_all(connector_for("coinbase"), frames("coinbase", updates))
    asked = [pair for result in results for pair in result.resnapshot]
    assert sorted(asked) == sorted({m["product_id"] for m in updates})
    assert all(r.envelopes[0].metadata.quality_flags == ["no_snapshot"] for r in results)


def test_crossed_book_asks_for_a_new_snapshot() -> None:
    snapshot = jsonl("coinbase/ws_snapshot.jsonl")[0]
    connector = connector_for("coinbase")
    parse_all(connector, frames("coinbase", [snapshot]))
    best_ask = float(snapshot["asks"][0][0])
    crossing = {
        "type": "l2update",
        "product_id": snapshot["product_id"],
        "changes": [["buy", f"{best_ask + 1:.4f}", "1.0"]],
        "time": "2021-04-17T16:43:38.000000Z",
    }
    result = connector.parse(RawFrame("coinbase", 1_618_677_818_000_000_000, crossing))
    assert result.resnapshot == [snapshot["product_id"]]
    assert result.envelopes[0].metadata.quality_flags == ["crossed_book"]


def test_control_frames() -> None:
    connector = connector_for("coinbase")
    for result in parse_all(
        connector, frames("coinbase", jsonl("coinbase/ws_subscriptions.jsonl"))
    ):
        assert result.control and not result.envelopes and result.rejected is None
    beat = connector.parse(
        RawFrame("coinbase", 1, '{"type":"heartbeat","sequence":1,"product_id":"BTC-USD"}')
    )
    assert beat.control
    error = connector.parse(RawFrame("coinbase", 1, {"type": "error", "message": "Failed"}))
    assert error.control and error.skipped == "venue error: Failed"


def test_products_missing_from_the_markets_still_parse_identically() -> None:
    raw = frames(
        "coinbase",
        jsonl("coinbase/ws_ticker.jsonl")
        + jsonl("coinbase/ws_match.jsonl")
        + jsonl("coinbase/ws_snapshot.jsonl")
        + jsonl("coinbase/ws_l2update.jsonl")[:200],
    )
    assert envelopes("coinbase", raw, markets=[]) == envelopes("coinbase", raw)


def test_parsing_twice_gives_identical_envelopes() -> None:
    raw = frames(
        "coinbase",
        jsonl("coinbase/ws_snapshot.jsonl")
        + jsonl("coinbase/ws_l2update.jsonl")
        + jsonl("coinbase/ws_match.jsonl"),
    )
    first = envelopes("coinbase", raw)
    assert first == envelopes("coinbase", raw)
    # last_match repeats an earlier trade: same trade id, same message id (de-duplicated later)
    assert len({e.header.message_id for e in first}) >= len(first) - 6


def test_l2updates_with_sequences_are_gap_checked() -> None:
    """The recorded level2 feed has no sequences; frames that carry one are checked."""
    snapshot = jsonl("coinbase/ws_snapshot.jsonl")[0]
    product = snapshot["product_id"]
    updates = [m for m in jsonl("coinbase/ws_l2update.jsonl") if m["product_id"] == product][:4]
    connector = connector_for("coinbase")
    parse_all(connector, frames("coinbase", [{**snapshot, "sequence": 100}]))
    numbered = [{**m, "sequence": s} for m, s in zip(updates, (101, 102, 104, 105), strict=True)]
    results = parse_all(connector, frames("coinbase", numbered))
    assert [r.envelopes[0].data.sequence for r in results] == [101, 102, 104, 105]
    assert [r.envelopes[0].metadata.data_quality for r in results] == [
        "high",
        "high",
        "low",
        "low",
    ]
    assert results[2].resnapshot == [product] and results[2].envelopes[
        0
    ].metadata.quality_flags == ["sequence_gap"]
