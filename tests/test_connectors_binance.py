"""Binance (and Binance.US) recorded frames through ccxt.pro.binance, checked field by field."""

from __future__ import annotations

import json
from typing import Any

from lucent_platform.connectors import RawFrame, connector_for
from lucent_platform.envelope import decode, encode
from tests.market_fixtures import MARKET, binance_book_session, envelopes, frames, jsonl, parse_all

PAIRS = {"BTCUSDT": "BTC-USDT", "ETHUSDT": "ETH-USDT", "DOTUSDT": "DOT-USDT"}


def test_agg_trades_equal_the_recorded_frames() -> None:
    messages = jsonl("binance/ws_aggTrade.jsonl")
    out = envelopes("binance", frames("binance", messages))
    assert len(out) == len(messages) == 600
    for message, envelope in zip(messages, out, strict=True):
        d = message["data"]
        assert envelope.data.pair == PAIRS[d["s"]]
        assert envelope.data.price == float(d["p"])
        assert envelope.data.amount == float(d["q"])
        assert envelope.data.side == ("sell" if d["m"] else "buy")  # buyer is maker: taker sold
        assert envelope.data.trade_id == str(d["a"])
        assert envelope.header.event_time_ms == d["T"]
        assert envelope.header.source == "binance-websocket"
        assert envelope.metadata.data_quality == "high"
        assert envelope.metadata.confidence_score == 1.0
        assert decode(encode(envelope)) == envelope


def test_trade_stream_frame() -> None:
    message = json.loads((MARKET / "binance/ws_trade_sample.json").read_text())
    [envelope] = envelopes("binance", frames("binance", [message]))
    d = message["data"]
    assert (envelope.data.pair, envelope.data.trade_id) == ("ETH-USDT", str(d["t"]))
    assert (envelope.data.price, envelope.data.amount) == (float(d["p"]), float(d["q"]))
    assert envelope.data.side == "sell"
    assert envelope.header.event_time_ms == d["T"]
    received_ms = envelope.header.received_time_ms
    assert envelope.metadata.latency_ms == received_ms - d["T"]


def test_binance_us_symbols_map_by_quote_asset_without_markets() -> None:
    trades = jsonl("binance_us/ws_aggTrade.jsonl")
    out = envelopes("binanceus", frames("binanceus", trades))
    assert {e.data.pair for e in out} >= {"BTC-USD", "HNT-USD", "ETH-BTC", "VTHO-USD", "BCH-BTC"}
    for message, envelope in zip(trades, out, strict=True):
        assert envelope.data.exchange == "binanceus"
        assert envelope.data.price == float(message["data"]["p"])
        assert envelope.header.source == "binanceus-websocket"


def test_book_tickers_give_mid_price_and_sizes() -> None:
    messages = jsonl("binance_us/ws_bookTicker.jsonl")
    out = envelopes("binanceus", frames("binanceus", messages))
    assert len(out) == len(messages)
    for message, envelope in zip(messages, out, strict=True):
        d, data = message["data"], envelope.data
        bid, ask = float(d["b"]), float(d["a"])
        assert (data.bid, data.ask, data.price) == (bid, ask, (bid + ask) / 2)
        assert data.spread == ask - bid
        assert data.liquidity is not None
        assert (data.liquidity.bid_size, data.liquidity.ask_size) == (float(d["B"]), float(d["A"]))
        assert data.volume24h is None and data.change24h is None
        # spot book tickers carry no time: the receive time stands in, and says so
        assert envelope.header.event_time_ms == envelope.header.received_time_ms
        assert envelope.metadata.quality_flags == ["no_event_time"]


def test_depth_session_deltas_and_snapshots_equal_the_recording() -> None:
    session = binance_book_session()
    results = parse_all(connector_for("binance"), session)
    snapshots_seen: set[str] = set()
    sequences: dict[str, int] = {}
    stale = 0
    for frame, result in zip(session, results, strict=True):
        assert result.rejected is None
        if frame.url is not None:
            [envelope] = result.envelopes
            body = frame.message
            assert envelope.header.source == "binance-rest"
            assert envelope.data.sequence == body["lastUpdateId"]
            assert envelope.data.bids == [(float(p), float(s)) for p, s in body["bids"][:25]]
            assert envelope.data.asks == [(float(p), float(s)) for p, s in body["asks"][:25]]
            snapshots_seen.add(envelope.data.pair)
            sequences[envelope.data.pair] = body["lastUpdateId"]
            continue
        d = frame.message["data"]
        [envelope] = result.envelopes
        data = envelope.data
        assert data.pair == PAIRS[d["s"]]
        assert (data.first_sequence, data.sequence) == (d["U"], d["u"])
        assert data.bids == [(float(p), float(s)) for p, s in d["b"]]
        assert data.asks == [(float(p), float(s)) for p, s in d["a"]]
        assert envelope.header.event_time_ms == d["E"]
        if envelope.metadata.quality_flags == ["in_snapshot"]:  # arrived after, but inside it
            assert data.pair in snapshots_seen and data.sequence <= sequences[data.pair]
            stale += 1
        elif data.pair in snapshots_seen:
            assert envelope.metadata.data_quality == "high"
            assert data.pair in result.books
        else:  # real data before any snapshot: published, marked low, no book figures
            assert envelope.metadata.data_quality == "low"
            assert envelope.metadata.quality_flags == ["no_snapshot"]
            assert result.books == {}
    assert snapshots_seen == set(PAIRS.values())
    assert stale == 1


def test_maintained_book_matches_an_independent_replay() -> None:
    """The published best bid/ask equal a book built here from the same frames."""
    session = binance_book_session()
    books: dict[str, dict[str, dict[float, float]]] = {}
    last_u: dict[str, int] = {}
    connector = connector_for("binance")
    for frame in session:
        result = connector.parse(frame)
        if frame.url is not None:
            symbol = frame.url.split("symbol=")[1].split("&")[0]
            body = frame.message
            books[symbol] = {
                side: {float(p): float(s) for p, s in body[side]} for side in ("bids", "asks")
            }
            last_u[symbol] = body["lastUpdateId"]
            continue
        d = frame.message["data"]
        if d["s"] not in books or d["u"] <= last_u[d["s"]]:
            continue
        book = books[d["s"]]
        for side, key in (("bids", "b"), ("asks", "a")):
            for p, s in d[key]:
                book[side].pop(float(p), None) if float(s) == 0 else book[side].update(
                    {float(p): float(s)}
                )
        last_u[d["s"]] = d["u"]
        figures = result.books[PAIRS[d["s"]]]
        best_bid, best_ask = max(book["bids"]), min(book["asks"])
        assert (figures.best_bid, figures.bid_size) == (best_bid, book["bids"][best_bid])
        assert (figures.best_ask, figures.ask_size) == (best_ask, book["asks"][best_ask])
        assert figures.bid_depth_10bps >= figures.bid_size > 0


def test_sequence_gap_asks_for_a_new_snapshot_and_lowers_quality() -> None:
    session = binance_book_session()
    connector = connector_for("binance")
    snapshot_at = next(i for i, f in enumerate(session) if f.url and "BTCUSDT" in f.url)
    btc_after = [
        i for i, f in enumerate(session) if i > snapshot_at + 5 and _symbol(f) == "BTCUSDT"
    ]
    dropped = btc_after[0]  # lose one BTCUSDT update: the next one no longer follows on
    results = {i: connector.parse(f) for i, f in enumerate(session) if i != dropped}
    gap = results[btc_after[1]]
    assert gap.resnapshot == ["BTC-USDT"]
    assert gap.envelopes[0].metadata.data_quality == "low"
    assert gap.envelopes[0].metadata.quality_flags == ["sequence_gap"]
    for i in btc_after[2:]:  # the book stays dropped until a new snapshot arrives
        assert results[i].resnapshot == []  # asked once
        assert results[i].envelopes[0].metadata.data_quality == "low"
        assert "BTC-USDT" not in results[i].books
    others = [r for i, r in results.items() if i > dropped and _symbol(session[i]) == "ETHUSDT"]
    assert others[-1].envelopes[0].metadata.data_quality == "high"  # other pairs unaffected


def test_crossed_book_asks_for_a_new_snapshot() -> None:
    session = binance_book_session()
    connector = connector_for("binance")
    snapshot_at = next(i for i, f in enumerate(session) if f.url and "ETHUSDT" in f.url)
    for frame in session[: snapshot_at + 1]:
        connector.parse(frame)
    best_ask = min(float(p) for p, _ in session[snapshot_at].message["asks"])
    nxt = next(f for f in session[snapshot_at + 1 :] if _symbol(f) == "ETHUSDT")
    data = dict(nxt.message["data"])
    data["b"] = [*data["b"], [f"{best_ask + 100:.2f}", "1.00000000"]]  # a bid above every ask
    result = connector.parse(RawFrame("binance", nxt.received_ns, {**nxt.message, "data": data}))
    assert result.resnapshot == ["ETH-USDT"]
    assert result.envelopes[0].metadata.quality_flags == ["crossed_book"]
    assert "ETH-USDT" not in result.books


def test_parsing_twice_gives_identical_envelopes() -> None:
    session = binance_book_session() + frames("binance", jsonl("binance/ws_aggTrade.jsonl"))
    first = envelopes("binance", session)
    second = envelopes("binance", session)
    assert first == second
    assert len({e.header.message_id for e in first}) == len(first)


def test_klines_are_skipped_and_acks_are_control() -> None:
    connector = connector_for("binance")
    for result in parse_all(connector, frames("binance", jsonl("binance/ws_kline.jsonl"))):
        assert (result.envelopes, result.rejected) == ([], None)
        assert result.skipped and result.skipped.startswith("kline")
    ack = connector.parse(RawFrame("binance", 1, '{"result":null,"id":1}'))
    assert ack.control and ack.rejected is None


def test_without_markets_the_quote_fallback_gives_the_same_envelopes() -> None:
    raw = frames("binance", jsonl("binance/ws_aggTrade.jsonl")) + binance_book_session()
    assert envelopes("binance", raw, markets=[]) == envelopes("binance", raw)


def test_pairs_filter_keeps_configured_pairs_only() -> None:
    raw = frames("binance", jsonl("binance/ws_aggTrade.jsonl"))
    out = envelopes("binance", raw, pairs=["ETH/USDT"])
    assert out and {e.data.pair for e in out} == {"ETH-USDT"}


def _symbol(frame: RawFrame) -> Any:
    return frame.message["data"]["s"] if frame.url is None else None


def test_24h_ticker() -> None:
    """Binance's documented 24hrTicker payload (as quoted in ccxt's source; none was recorded)."""
    frame = {
        "e": "24hrTicker", "E": 1579485598569, "s": "ETHBTC", "p": "-0.00004000",
        "P": "-0.209", "w": "0.01920495", "x": "0.01916500", "c": "0.01912500",
        "Q": "0.10400000", "b": "0.01912200", "B": "4.10400000", "a": "0.01912500",
        "A": "0.00100000", "o": "0.01916500", "h": "0.01956500", "l": "0.01887700",
        "v": "173518.11900000", "q": "3332.40703994", "O": 1579399197842,
        "C": 1579485597842, "F": 158251292, "L": 158414513, "n": 163222,
    }  # fmt: skip
    [envelope] = envelopes(
        "binance", frames("binance", [{"stream": "ethbtc@ticker", "data": frame}])
    )
    data = envelope.data
    assert (data.pair, data.price, data.bid, data.ask) == ("ETH-BTC", 0.019125, 0.019122, 0.019125)
    assert (data.volume24h, data.change24h) == (173518.119, -0.209)
    assert data.liquidity is not None and data.liquidity.bid_size == 4.104
    assert envelope.header.event_time_ms == frame["E"]
    assert envelope.metadata.data_quality == "high"
