"""The topic catalog: names, sanitising, regex subscriptions, configs."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lucent_platform import topics
from lucent_platform.topics import Kind, TopicNameError


def test_names_follow_the_design_record() -> None:
    assert topics.prices("binance", "ETH/USDC") == "market.prices.binance.eth-usdc"
    assert topics.orderbook("uniswap", "ETH-USDC") == "market.orderbook.uniswap.eth-usdc"
    assert topics.trades("Coinbase", "BTC-USD") == "market.trades.coinbase.btc-usd"
    assert topics.yields("aave", "eth-lending") == "market.yields.aave.eth-lending"
    assert topics.liquidations("compound") == "market.liquidations.compound"
    assert topics.governance("makerdao") == "market.governance.makerdao"
    assert topics.bridges("Optimism") == "market.bridges.optimism"
    assert topics.swaps("ethereum") == "market.swaps.ethereum"
    assert topics.normalized(Kind.PRICES) == "market.prices.all"


@pytest.mark.parametrize("bad", ["ETH$USDC", "eth.usdc", "", "  ", "ÉTH", "all"])
def test_bad_segments_are_rejected_with_a_reason(bad: str) -> None:
    with pytest.raises(TopicNameError, match=r"cannot be part of a topic name|reserved"):
        topics.prices("binance", bad)


@given(st.text(max_size=20))
def test_any_text_gives_a_valid_segment_or_a_clear_error(text: str) -> None:
    try:
        seg = topics.segment(text)
    except TopicNameError:
        return
    assert re.fullmatch(r"[a-z0-9-]+", seg) and seg != "all"


@pytest.mark.parametrize("kind", list(Kind))
def test_raw_patterns_match_raw_topics_but_never_the_normalized_one(kind: Kind) -> None:
    pattern = re.compile(topics.raw_pattern(kind))
    assert not pattern.match(topics.normalized(kind))
    raw = {
        Kind.PRICES: topics.prices("kraken", "XBT/USDT"),
        Kind.TRADES: topics.trades("binance", "BTC/USDT"),
        Kind.ORDERBOOK: topics.orderbook("coinbase", "ETH-USD"),
        Kind.YIELDS: topics.yields("aave", "usdc"),
        Kind.LIQUIDATIONS: topics.liquidations("aave"),
        Kind.GOVERNANCE: topics.governance("al"),
        Kind.BRIDGES: topics.bridges("base"),
        Kind.SWAPS: topics.swaps("bsc"),
    }[kind]
    assert pattern.match(raw)
    for other in Kind:
        if other is not kind:
            assert not pattern.match(topics.normalized(other))


def test_fixed_topics_have_explicit_configs() -> None:
    specs = {s.name: s for s in topics.fixed_topics()}
    for name in [
        "market.prices.all", "market.deadletter", "yield.opportunities", "user.alerts",
        "user.alert-rules", "arbitrage.opportunities", "lucent.checkpoints",
    ]:  # fmt: skip
        assert name in specs
    rules = specs["user.alert-rules"].config(min_insync_replicas=2)
    assert rules["cleanup.policy"] == "compact"
    hot = specs["market.prices.all"].config(min_insync_replicas=1)
    assert hot == {
        "cleanup.policy": "delete",
        "retention.ms": str(7 * 24 * 3600 * 1000),
        "retention.bytes": "107374182400",
        "min.insync.replicas": "1",
    }
    assert specs["market.prices.all"].key == "pair"
    assert specs["market.yields.all"].key == "protocol"


def test_instrument_topics_cover_every_exchange_and_pair() -> None:
    names = {s.name for s in topics.instrument_topics(["binance", "kraken"], ["ETH/USDC"])}
    assert names == {
        f"market.{kind}.{ex}.eth-usdc"
        for kind in ("prices", "trades", "orderbook")
        for ex in ("binance", "kraken")
    }
