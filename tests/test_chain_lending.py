"""Lending yields: the recorded RealT RMM v2 (Aave v2 fork) ``ReserveDataUpdated`` on Gnosis, the
ray → APY and per-second → APY math against Decimal arithmetic, Compound v3 rate returns."""

from __future__ import annotations

import contextlib
from decimal import Decimal, localcontext

import pytest
from eth_abi import encode
from hypothesis import given
from hypothesis import strategies as st

from lucent_platform.chains.abi import ChainDecodeError
from lucent_platform.chains.lending import (
    RESERVE_DATA_UPDATED,
    comet_rate_envelope,
    decode_rate_result,
    decode_reserve_data_updated,
    reserve_rate_envelopes,
)
from lucent_platform.chains.logs import parse_log
from lucent_platform.chains.rates import per_second_to_apy, ray_apr_to_apy
from tests.chain_fixtures import recorded_logs

RECEIPT = recorded_logs("realt_rmm_v2/receipt_borrow_gnosis.json")
(RESERVE_LOG,) = [log for log in RECEIPT if log["topics"][0] == "0x" + RESERVE_DATA_UPDATED.hex()]
SECONDS = 31_536_000


def decimal_apy(per_second: Decimal) -> Decimal:
    """(1 + r)**SECONDS - 1 in 40-digit Decimal powers, independent of the code's floats."""
    with localcontext() as context:
        context.prec = 40
        return (1 + per_second) ** SECONDS - 1


def test_recorded_reserve_update_gives_supply_and_borrow_apy() -> None:
    (envelope,) = reserve_rate_envelopes(
        parse_log(RESERVE_LOG, chain_id=100), received_ms=1_690_000_000_000, block_time_ms=None
    )
    words = [int(RESERVE_LOG["data"][2 + 64 * i : 2 + 64 * (i + 1)], 16) for i in range(5)]
    supply = decimal_apy(Decimal(words[0]) / Decimal(10**27) / SECONDS) * 100
    borrow = decimal_apy(Decimal(words[2]) / Decimal(10**27) / SECONDS) * 100
    data = envelope.data
    assert (data.protocol, data.pool, data.asset, data.chain) == (
        "realt-rmm-v2",
        "wxdai-lending",
        "WXDAI",
        "gnosis",
    )
    assert data.apy == data.supply_apy == pytest.approx(float(supply), rel=1e-12)
    assert data.borrow_apy == pytest.approx(float(borrow), rel=1e-12)
    assert 5.0 < data.apy < 6.0 and 8.0 < data.borrow_apy < 9.0
    assert (data.block_number, data.log_index) == (0x1AC46E6, 0x14)
    assert data.tx_hash == RESERVE_LOG["transactionHash"]
    assert envelope.header.source == "gnosis-rpc"
    rates = decode_reserve_data_updated(
        parse_log(RESERVE_LOG, chain_id=100).topics, bytes.fromhex(RESERVE_LOG["data"][2:])
    )
    assert rates.reserve == "0xe91d153e0b41518a2ce8dd3d7944fa863463a97d"
    assert rates.liquidity_index == words[3] and rates.variable_borrow_index == words[4]


def test_recorded_aave_v1_reserve_updates() -> None:
    """The four recorded Aave v1 ``ReserveUpdated`` logs; ETH's is the YieldRate docstring's."""
    seen = {}
    for obj in recorded_logs("aave_v1/logs_ReserveUpdated.json"):
        (envelope,) = reserve_rate_envelopes(
            parse_log(obj, chain_id=1), received_ms=1, block_time_ms=1
        )
        words = [int(obj["data"][2 + 64 * i : 2 + 64 * (i + 1)], 16) for i in range(5)]
        supply = decimal_apy(Decimal(words[0]) / Decimal(10**27) / SECONDS) * 100
        borrow = decimal_apy(Decimal(words[2]) / Decimal(10**27) / SECONDS) * 100
        assert envelope.data.protocol == "aave-v1"
        assert envelope.data.supply_apy == pytest.approx(float(supply), rel=1e-12)
        assert envelope.data.borrow_apy == pytest.approx(float(borrow), rel=1e-12)
        assert envelope.metadata.quality_flags is None
        seen[envelope.data.asset] = envelope.data
    assert sorted(seen) == ["BAT", "DAI", "ETH", "YFI"]
    assert seen["ETH"].pool == "eth-lending"
    assert (round(seen["ETH"].apy, 4), round(seen["ETH"].borrow_apy or 0, 4)) == (0.9481, 3.0406)


def test_an_unknown_pool_keeps_its_apys_and_says_why() -> None:
    obj = {**RESERVE_LOG, "address": "0x" + "22" * 20}
    (envelope,) = reserve_rate_envelopes(
        parse_log(obj, chain_id=100), received_ms=1, block_time_ms=1
    )
    assert envelope.data.protocol == "unknown"
    assert envelope.data.apy > 5.0
    assert envelope.metadata.quality_flags == ["unknown_pool"]
    assert envelope.metadata.data_quality == "low"


@pytest.mark.parametrize("percent", [0, 1, 5, 37, 250])
def test_ray_and_per_second_rates_match_decimal_compounding(percent: int) -> None:
    ray = percent * 10**25
    expected = decimal_apy(Decimal(ray) / Decimal(10**27) / SECONDS)
    assert ray_apr_to_apy(ray) == pytest.approx(float(expected), rel=1e-12, abs=1e-15)
    per_second = ray // 10**9 // SECONDS  # the same APR as a 1e18-scaled per-second rate
    expected = decimal_apy(Decimal(per_second) / Decimal(10**18))
    assert per_second_to_apy(per_second) == pytest.approx(float(expected), rel=1e-12, abs=1e-15)


def test_compound_v3_rate_returns_become_a_yield_rate() -> None:
    # Returns built with eth-abi (uint64 per-second rates; not recorded, see PROVENANCE.md).
    supply, borrow = 1_585_489_599, 2_219_685_438  # ≈5 % and ≈7 % APR
    envelope = comet_rate_envelope(
        chain="ethereum",
        comet="0xc3d688B66703497DAA19211EEdff47f25384cdc3",
        block_number=19_000_000,
        supply_result=encode(["uint64"], [supply]),
        borrow_result=encode(["uint64"], [borrow]),
        received_ms=2,
        block_time_ms=1,
    )
    assert (envelope.data.protocol, envelope.data.pool, envelope.data.asset) == (
        "compound-v3",
        "usdc-comet",
        "USDC",
    )
    expected = decimal_apy(Decimal(supply) / Decimal(10**18)) * 100
    assert envelope.data.supply_apy == pytest.approx(float(expected), rel=1e-12)
    assert envelope.data.borrow_apy == pytest.approx(
        float(decimal_apy(Decimal(borrow) / Decimal(10**18)) * 100), rel=1e-12
    )
    assert envelope.metadata.quality_flags is None
    with pytest.raises(ChainDecodeError):
        decode_rate_result(encode(["uint256"], [2**64]))


@given(
    topics=st.lists(st.one_of(st.just(RESERVE_DATA_UPDATED), st.binary(max_size=40)), max_size=5),
    data=st.binary(max_size=200),
)
def test_any_topics_and_bytes_fail_only_with_chain_decode_error(
    topics: list[bytes], data: bytes
) -> None:
    with contextlib.suppress(ChainDecodeError):
        decode_reserve_data_updated(topics, data)
    with contextlib.suppress(ChainDecodeError):
        decode_rate_result(data)


@given(words=st.lists(st.integers(min_value=0, max_value=2**256 - 1), min_size=5, max_size=5))
def test_any_rate_words_give_an_envelope_or_a_chain_decode_error(words: list[int]) -> None:
    obj = {**RESERVE_LOG, "data": "0x" + "".join(f"{word:064x}" for word in words)}
    with contextlib.suppress(ChainDecodeError):
        (envelope,) = reserve_rate_envelopes(
            parse_log(obj, chain_id=100), received_ms=1, block_time_ms=1
        )
        assert envelope.data.apy >= 0.0
