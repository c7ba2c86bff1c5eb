"""Normalization: canonical names, routes of raw topics, the output envelope; dead letters."""

from __future__ import annotations

import pytest

from lucent_platform.envelope import decode, encode, new_envelope
from lucent_platform.messages import (
    GovernanceEvent,
    Liquidation,
    OrderBookDelta,
    PriceUpdate,
    Trade,
    YieldRate,
)
from lucent_platform.processing import DeadLetter, deadletter
from lucent_platform.processing.normalize import Identity, output_envelope, route
from lucent_platform.topics import Kind

T0 = 1_756_809_000_000


@pytest.mark.parametrize(
    ("topic", "kind", "likely"),
    [
        ("market.prices.binance.eth-usdc", Kind.PRICES, PriceUpdate),
        ("market.trades.coinbase.btc-usd", Kind.TRADES, Trade),
        ("market.orderbook.uniswap.eth-usdc", Kind.ORDERBOOK, OrderBookDelta),
        ("market.yields.aave.eth-lending", Kind.YIELDS, YieldRate),
        ("market.liquidations.compound", Kind.LIQUIDATIONS, Liquidation),
        ("market.governance.makerdao", Kind.GOVERNANCE, GovernanceEvent),
        ("market.prices.all", None, None),  # our own output is no raw topic
        ("market.liquidations.all", None, None),
        ("market.candles.binance.eth-usdc", None, None),
        ("user.alerts", None, None),
    ],
)
def test_routes_of_the_design_record_topics(topic: str, kind: Kind | None, likely: type) -> None:
    found = route(topic)
    assert (found.kind, found.likely) == (kind, likely)


@pytest.mark.parametrize(
    ("pair", "canonical"),
    [
        ("ETH-USDC", "ETH-USDC"),
        ("eth/usdc", "ETH-USDC"),
        ("ETH_USDC", "ETH-USDC"),
        (" btc-usd ", "BTC-USD"),
        ("BTC/USDT:USDT", "BTC-USDT-USDT"),  # a ccxt perpetual keeps its settle currency
        ("1INCH-USDT", "1INCH-USDT"),
        ("BTCUSDT", None),  # no separator: cannot tell base from quote
        ("BTC-", None),
        ("", None),
        ("ETH-US$", None),
    ],
)
def test_pairs(pair: str, canonical: str | None) -> None:
    data = PriceUpdate(exchange="Binance", pair=pair, price=1.0)
    found = Identity().of("price_update", data)
    if canonical is None:
        assert isinstance(found, str) and "pair" in found
    else:
        assert not isinstance(found, str)
        normalized, key = found
        assert (normalized.exchange, normalized.pair, key) == (
            "binance",
            canonical,
            canonical.encode(),
        )


def test_canonical_data_is_returned_as_is() -> None:
    data = PriceUpdate(exchange="binance", pair="ETH-USDC", price=2847.52)
    found = Identity().of("price_update", data)
    assert not isinstance(found, str) and found[0] is data


def test_defi_names() -> None:
    identity = Identity()
    liquidation = Liquidation(
        protocol="Aave-V1", chain="Ethereum", tx_hash="0x97afae49", borrower="0xcf11",
        liquidator="0xf453", collateral_asset="dai", debt_asset="bat",
        collateral_amount=469.417545725083, debt_amount=1418.69632,
    )  # fmt: skip
    found = identity.of("liquidation", liquidation)
    assert not isinstance(found, str)
    data, key = found
    assert (data.protocol, data.chain, data.collateral_asset, data.debt_asset, key) == (
        "aave-v1", "ethereum", "DAI", "BAT", b"aave-v1",
    )  # fmt: skip
    assert data.tx_hash == "0x97afae49"  # not a name: kept exactly
    vote = GovernanceEvent(protocol="compound", proposal_id="117", event_type="vote_cast")
    assert identity.of("governance_event", vote) == (vote, b"compound")
    bad = YieldRate(protocol="aave v2!", pool="usdc", asset="USDC", chain="ethereum", apy=4.0)
    assert identity.of("yield_rate", bad) == "protocol 'aave v2!' has no canonical form"


def test_name_caches_are_bounded() -> None:
    identity = Identity()
    for i in range(10_000):
        identity.of("trade", Trade(exchange=f"venue{i}", pair=f"X{i}-USD", price=1.0, amount=1.0))
    assert len(identity._ids) <= 4096 and len(identity._pairs) <= 4096


def test_output_envelope_keeps_the_header_and_adds_latency_so_far() -> None:
    incoming = new_envelope(
        PriceUpdate(exchange="binance", pair="ETH-USDC", price=2847.52),
        source="binance-websocket", event_time_ms=T0, received_time_ms=T0 + 15,
        message_id="m-7", correlation_id="c-1", confidence_score=0.98, data_quality="medium",
        quality_flags=["wide_spread"],
    )  # fmt: skip
    old = new_envelope(incoming.data, source="x", event_time_ms=T0, received_time_ms=T0 + 15)
    out = output_envelope(incoming, incoming.data, now_ms=T0 + 15 + 7)
    assert out.header == incoming.header
    assert out.metadata.latency_ms == 22.0
    assert (out.metadata.confidence_score, out.metadata.data_quality) == (0.98, "medium")
    assert out.metadata.quality_flags == ["wide_spread"]
    # A message written with an older schema version is re-encoded with the current one.
    current = f"{PriceUpdate.schema_version}.0"
    v1 = decode(encode(old).replace(f'"version":"{current}"'.encode(), b'"version":"1.0"'))
    assert v1.header.version == "1.0"
    assert output_envelope(v1, v1.data, T0).header.version == current


# --- dead letters ---------------------------------------------------------------------------


def test_dead_letters_round_trip_with_the_exact_original_bytes() -> None:
    original = bytes(range(256))
    letter = DeadLetter(
        reason="undecodable", detail="invalid envelope: JSON is malformed",
        source_topic="market.prices.binance.btc-usdt", source_partition=0, source_offset=81723,
        source_timestamp_ms=T0, dead_lettered_at_ms=T0 + 11, original_base64=original,
    )  # fmt: skip
    value = deadletter.encode(letter)
    assert b'"originalBase64":"AAECAwQF' in value and b'"sourceOffset":81723' in value
    assert deadletter.decode(value) == letter


def test_a_dead_letter_with_unencodable_text_still_encodes() -> None:
    letter = DeadLetter(
        reason="processing_error", detail="KeyError: '\udcff'", source_topic="t",
        source_partition=0, source_offset=0, source_timestamp_ms=0, dead_lettered_at_ms=0,
        original_base64=b"\xff", message_id="\ud800",
    )  # fmt: skip
    decoded = deadletter.decode(deadletter.encode(letter))
    assert decoded.detail == "KeyError: '\\udcff'" and decoded.message_id == "\\ud800"
