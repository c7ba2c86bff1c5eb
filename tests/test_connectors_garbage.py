"""Garbage in never raises: every connector answers any frame with a ParseResult."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lucent_platform.connectors import EXCHANGES, Connector, ParseResult, RawFrame, connector_for
from lucent_platform.envelope import decode, encode
from tests.fixtures.hostile import TEXTS, envelopes, frames, json_text
from tests.market_fixtures import jsonl

REAL = {
    "binance": jsonl("binance/ws_aggTrade.jsonl")[:3]
    + jsonl("binance/ws_depthUpdate.jsonl")[:3]
    + jsonl("binance/ws_kline.jsonl")[:1],
    "binanceus": jsonl("binance_us/ws_bookTicker.jsonl")[:3],
    "coinbase": jsonl("coinbase/ws_ticker.jsonl")[:2]
    + jsonl("coinbase/ws_match.jsonl")[:2]
    + jsonl("coinbase/ws_l2update.jsonl")[:2],
    "kraken": jsonl("kraken/ws_ticker.jsonl")[:2]
    + jsonl("kraken/ws_trade.jsonl")[:2]
    + jsonl("kraken/ws_book.jsonl")[10:13]
    + jsonl("kraken/ws_events.jsonl")[:2],
}
CONNECTORS = {exchange: connector_for(exchange) for exchange in EXCHANGES}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["BTCUSDT", "SKL-USD", "XBT/USD", "book-10", "trade", "0.5", "1e400"]),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(["e", "s", "U", "u", "b", "a", "p", "q", "type", "product_id", "data"])
            | st.text(max_size=5),
            children,
            max_size=6,
        )
    ),
    max_leaves=20,
)


def _check(connector: Connector, message: Any) -> ParseResult:
    result = connector.parse(RawFrame(connector.exchange, 1_617_566_591_000_000_000, message))
    assert isinstance(result, ParseResult)
    if result.rejected is not None:
        assert ":" in result.rejected and not result.envelopes
    for envelope in result.envelopes:  # whatever got through is a valid envelope
        assert decode(encode(envelope)) == envelope
    return result


@pytest.mark.parametrize("exchange", EXCHANGES)
@pytest.mark.parametrize(
    "message",
    [
        b"\xff\xfe",
        "not json",
        '{"stream": "btcusdt@aggTrade", "data": {',  # truncated
        "[]",
        "{}",
        "42",
        "null",
        {"e": "depthUpdate"},
        {"e": "aggTrade", "s": "BTCUSDT", "p": "abc", "q": "1", "a": 1, "T": 1},
        {"type": "match", "product_id": "SKL-USD", "price": "-1", "size": "1"},
        [1, {"a": [["x", "1", "1"]]}, "book-10", "XBT/USD"],
        [1, [["1", "1", "1", "q", "m", ""]], "trade", "XBT/USD"],
        {"stream": "x@y", "data": {"e": "noSuchEvent"}},
    ],
)
def test_garbage_frames_are_rejected_with_a_reason(exchange: str, message: Any) -> None:
    result = _check(connector_for(exchange), message)
    assert result.rejected is not None or result.skipped is not None


def test_wrong_exchange_and_bad_clock_are_rejected() -> None:
    connector = connector_for("binance")
    assert (connector.parse(RawFrame("kraken", 1, "{}")).rejected or "").startswith("wrong")
    bad_clock = connector.parse(RawFrame("binance", -5, REAL["binance"][0]))
    assert (bad_clock.rejected or "").startswith("bad time")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(EXCHANGES), json_values)
def test_any_json_value_gives_a_parse_result(exchange: str, message: Any) -> None:
    _check(CONNECTORS[exchange], message)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(EXCHANGES), st.text(max_size=40) | st.binary(max_size=40))
def test_any_text_gives_a_parse_result(exchange: str, message: str | bytes) -> None:
    _check(CONNECTORS[exchange], message)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_real_frames_with_one_value_replaced_give_a_parse_result(data: st.DataObject) -> None:
    """Mutants of real frames get deep into the parsers, past the first shape checks."""
    exchange = data.draw(st.sampled_from(sorted(REAL)))
    message = json.loads(json.dumps(data.draw(st.sampled_from(REAL[exchange]))))
    node, key = _pick_slot(message, data)
    if node is not None:
        node[key] = data.draw(json_values)
    _check(CONNECTORS[exchange], message)


def _pick_slot(message: Any, data: st.DataObject) -> tuple[Any, Any]:
    node, parent, key = message, None, None
    while isinstance(node, dict | list) and node and data.draw(st.booleans()):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        parent, key = node, data.draw(st.sampled_from(keys))
        node = node[key]
    return parent, key


# --- the hostile-input corpus (tests/fixtures/hostile) -------------------------------------

_PAIR_SHAPE = re.compile(r"[A-Z0-9]+(-[A-Z0-9]+)+")


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_the_hostile_corpus_is_rejected_by_every_connector(exchange: str) -> None:
    """Every corpus frame, 10 MB ones too, as bytes and as the text a websocket hands over,
    and every envelope-shaped case (no exchange frame): rejected or skipped, never raised."""
    connector = CONNECTORS[exchange]
    for case in [*frames(), *envelopes()]:
        for message in (case.value, case.value.decode("utf-8", "surrogateescape")):
            result = _check(connector, message)
            assert not result.envelopes, case
            assert result.rejected is not None or result.skipped is not None, case


@pytest.mark.parametrize("exchange", sorted(REAL))
@pytest.mark.parametrize("name", sorted(TEXTS))
def test_a_hostile_symbol_never_becomes_a_name(exchange: str, name: str) -> None:
    """Each real frame with its symbol replaced by a hostile string: rejected, or an envelope
    whose pair is a canonical BASE-QUOTE (never the hostile text) and whose exchange is the
    connector's own."""
    connector = CONNECTORS[exchange]
    for frame in REAL[exchange]:
        message = json.loads(json.dumps(frame))
        if not _replace_symbols(message, TEXTS[name]):
            continue
        result = _check(connector, json_text(message).decode())
        for envelope in result.envelopes:
            data = envelope.data
            assert getattr(data, "exchange", exchange) == connector.exchange
            pair = getattr(data, "pair", None)
            assert pair is None or _PAIR_SHAPE.fullmatch(pair), (name, pair)


def _replace_symbols(node: Any, text: str) -> bool:
    """Every symbol-like field of a frame (``s``, ``product_id``, Kraken's pair at the end,
    the combined stream's name) set to ``text``; False when the frame has none."""
    found = False
    if isinstance(node, dict):
        for key in list(node):
            if key in ("s", "product_id", "symbol", "stream"):
                node[key] = text
                found = True
            else:
                found |= _replace_symbols(node[key], text)
    elif isinstance(node, list):
        if len(node) >= 4 and isinstance(node[-1], str) and "/" in node[-1]:
            node[-1] = text
            found = True
        for item in node:
            found |= _replace_symbols(item, text)
    return found
