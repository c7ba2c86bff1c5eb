"""Pair names normalised across venues, and their agreement with ccxt."""

from __future__ import annotations

import ccxt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lucent_platform.connectors import connector_for
from lucent_platform.connectors.pairs import (
    COMMON_ALIASES,
    PAIR_PATTERN,
    QUOTE_ASSETS,
    VENUE_ALIASES,
    Instrument,
    PairError,
    instrument_for,
    normalize_pair,
)


@pytest.mark.parametrize(
    ("text", "venue", "pair"),
    [
        ("ETH/USDC", None, "ETH-USDC"),
        ("BTC/USDT:USDT", None, "BTC-USDT"),
        ("eth_usdc", None, "ETH-USDC"),
        ("ETH-USDC", None, "ETH-USDC"),
        ("BTCUSDT", "binance", "BTC-USDT"),
        ("BNBBUSD", "binance", "BNB-BUSD"),  # the longest quote wins…
        ("BATUSD", "kraken", "BAT-USD"),  # …unless it leaves under three letters of base
        ("XETHZUSD", "kraken", "ETH-USD"),
        ("XXBTZUSD", "kraken", "BTC-USD"),
        ("XETHXXBT", "kraken", "ETH-BTC"),
        ("USDTZUSD", "kraken", "USDT-USD"),
        ("XTZUSD", "kraken", "XTZ-USD"),  # Tezos: the X is its name, not a legacy prefix
        ("XBT/USD", "kraken", "BTC-USD"),
        ("XDG/USD", "kraken", "DOGE-USD"),
        ("ALGO/XBT", "kraken", "ALGO-BTC"),
        ("CGLD-USD", "coinbase", "CELO-USD"),
    ],
)
def test_examples(text: str, venue: str | None, pair: str) -> None:
    assert normalize_pair(text, venue) == pair


def test_derivatives_keep_settle_and_expiry() -> None:
    assert instrument_for("BTC/USDT:USDT") == Instrument("BTC", "USDT", settle="USDT")
    future = instrument_for("BTC/USD:BTC-211231")
    assert (future.pair, future.settle, future.expiry) == ("BTC-USD", "BTC", "211231")


@pytest.mark.parametrize("text", ["", "USDT", "ETH2.S/ETH", "/USD", "BTC/", "ÄÖ/USD", "XYZ"])
def test_unusable_names_raise_a_clear_error(text: str) -> None:
    with pytest.raises(PairError):
        normalize_pair(text)


@given(st.text(max_size=30), st.sampled_from([None, "binance", "coinbase", "kraken"]))
def test_any_text_gives_a_pair_or_a_pair_error(text: str, venue: str | None) -> None:
    try:
        pair = normalize_pair(text, venue)
    except PairError:
        return
    assert PAIR_PATTERN.fullmatch(pair)


@given(
    st.sampled_from(["BTC", "ETH", "SKL", "ALGO", "DOGE", "1INCH"]),
    st.sampled_from([q for q in QUOTE_ASSETS if q != "XBT"]),
)
def test_concatenated_ids_split_at_the_quote(base: str, quote: str) -> None:
    assert normalize_pair(base + quote) == f"{base}-{quote}"


def test_aliases_mirror_ccxt_common_currencies() -> None:
    ccxt_classes = {"binance": "binance", "binanceus": "binanceus", "coinbase": "coinbaseexchange"}
    ccxt_classes["kraken"] = "kraken"
    for venue, ccxt_id in ccxt_classes.items():
        theirs = dict(getattr(ccxt, ccxt_id)().commonCurrencies)
        if venue == "kraken":  # the one documented difference (see VENUE_ALIASES)
            assert theirs.pop("REP") == "REPV1"
        assert {**COMMON_ALIASES, **VENUE_ALIASES[venue]} == theirs


@pytest.mark.parametrize("venue", ["binance", "coinbase", "kraken"])
def test_fallback_agrees_with_ccxt_on_every_shipped_market(venue: str) -> None:
    """What the quote fallback makes of a market id equals what ccxt makes of the market."""
    checked = 0
    for symbol, market in connector_for(venue).ccxt().markets.items():
        if "." in symbol:  # Kraken's ETH2.S: not representable as a pair, by design
            continue
        names = [market["id"]]
        if venue == "kraken" and market["info"].get("wsname"):
            names.append(market["info"]["wsname"])  # the v1 websocket's pair names
        for name in names:
            if name.endswith(".d"):  # Kraken dark-pool books: not on the public websocket
                continue
            assert normalize_pair(name, venue) == normalize_pair(symbol), name
            checked += 1
    assert checked > 40
