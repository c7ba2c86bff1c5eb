"""Liquidation decoders: Aave ``LiquidationCall`` and Compound v3 ``AbsorbCollateral``.

The Aave v1 liquidation is recorded (tx 0x97afae49…, block 10673175). No recorded Aave v2/v3
``LiquidationCall`` or Compound v3 ``AbsorbCollateral`` was found in the shared fixtures or the
searched public test suites, so those logs are BUILT here with eth-abi from the events'
documented layouts and round numbers; they check decoding and units, not recorded reality.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

from eth_abi import encode
from hypothesis import given
from hypothesis import strategies as st

from lucent_platform.chains.abi import ChainDecodeError
from lucent_platform.chains.liquidations import (
    ABSORB_COLLATERAL,
    LIQUIDATION_CALL,
    LIQUIDATION_CALL_V1,
    decode_absorb_collateral,
    decode_liquidation_call,
    liquidation_envelopes,
)
from lucent_platform.chains.logs import parse_log
from tests.chain_fixtures import recorded_logs

AAVE_V3_POOL = "0x87870bca3f3fd6335c3f4ce8392d69350b4fa4e2"
COMET_USDC = "0xc3d688b66703497daa19211eedff47f25384cdc3"
WETH = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
USER = "0x" + "ab" * 20
LIQUIDATOR = "0x" + "cd" * 20


def topic(address: str) -> str:
    return "0x" + "00" * 12 + address[2:]


def log_object(address: str, topics: list[str], data: bytes, **extra: Any) -> dict[str, Any]:
    return {
        "address": address,
        "topics": topics,
        "data": "0x" + data.hex(),
        "blockNumber": "0x121eac0",
        "transactionHash": "0x" + "5e" * 32,
        "transactionIndex": "0x3",
        "blockHash": "0x" + "b1" * 32,
        "logIndex": "0x7",
        "removed": False,
        **extra,
    }


def aave_log(**extra: Any) -> dict[str, Any]:
    data = encode(
        ["uint256", "uint256", "address", "bool"],
        [1_250_000_000, 530_000_000_000_000_000, LIQUIDATOR, False],
    )
    topics = ["0x" + LIQUIDATION_CALL.hex(), topic(WETH), topic(USDC), topic(USER)]
    return log_object(AAVE_V3_POOL, topics, data, **extra)


def test_recorded_aave_v1_liquidation() -> None:
    (obj,) = [
        log
        for log in recorded_logs("aave_v1/logs_liquidation_tx.json")
        if log["topics"][0] == "0x" + LIQUIDATION_CALL_V1.hex()
    ]
    (envelope,) = liquidation_envelopes(parse_log(obj, chain_id=1), received_ms=2, block_time_ms=1)
    words = [int(obj["data"][2 + 64 * i : 2 + 64 * (i + 1)], 16) for i in range(6)]
    data = envelope.data
    assert data.protocol == "aave-v1"
    assert (data.collateral_asset, data.debt_asset) == ("DAI", "BAT")  # both 18 decimals
    assert data.debt_amount == float(Decimal(words[0]) / 10**18) == 1418.69632
    assert data.collateral_amount == float(Decimal(words[1]) / 10**18)
    assert (
        data.borrower
        == "0x" + obj["topics"][3][26:]
        == "0xcf110759776ea0851565b6db1572212e9d2926f6"
    )
    assert (
        data.liquidator == "0x" + f"{words[3]:040x}" == "0xf45394706522f060ba5d8982ddef41c22967f928"
    )
    assert (data.block_number, data.log_index) == (10673175, 132)
    assert data.tx_hash == obj["transactionHash"]
    assert envelope.metadata.quality_flags is None


def test_aave_liquidation_call_in_whole_tokens() -> None:
    obj = aave_log()
    (envelope,) = liquidation_envelopes(parse_log(obj, chain_id=1), received_ms=2, block_time_ms=1)
    data = envelope.data
    debt_raw = int(obj["data"][2:66], 16)
    collateral_raw = int(obj["data"][66:130], 16)
    assert data.protocol == "aave-v3"
    assert (data.collateral_asset, data.debt_asset) == ("WETH", "USDC")
    assert data.collateral_amount == float(Decimal(collateral_raw) / 10**18) == 0.53
    assert data.debt_amount == float(Decimal(debt_raw) / 10**6) == 1250.0
    assert (data.borrower, data.liquidator) == (USER, LIQUIDATOR)
    assert (data.block_number, data.log_index, data.tx_hash) == (
        0x121EAC0,
        7,
        obj["transactionHash"],
    )
    assert envelope.metadata.quality_flags is None


def test_an_unknown_token_keeps_raw_units_and_its_address() -> None:
    obj = aave_log()
    obj["topics"][1] = topic("0x" + "99" * 20)
    (envelope,) = liquidation_envelopes(parse_log(obj, chain_id=1), received_ms=2, block_time_ms=1)
    assert envelope.data.collateral_asset == "0x" + "99" * 20
    assert envelope.data.collateral_amount == 530_000_000_000_000_000.0
    assert envelope.metadata.quality_flags == ["unknown_token"]


def test_a_removed_liquidation_is_retracted_under_the_same_id() -> None:
    (kept,) = liquidation_envelopes(
        parse_log(aave_log(), chain_id=1), received_ms=2, block_time_ms=1
    )
    (gone,) = liquidation_envelopes(
        parse_log(aave_log(removed=True), chain_id=1), received_ms=3, block_time_ms=1
    )
    assert gone.header.message_id == kept.header.message_id
    assert gone.metadata.quality_flags == ["retracted"]


def test_compound_v3_absorb_collateral() -> None:
    data = encode(["uint256", "uint256"], [2 * 10**18, 4_200_00000000])  # 2 WETH worth $4,200
    topics = ["0x" + ABSORB_COLLATERAL.hex(), topic(LIQUIDATOR), topic(USER), topic(WETH)]
    obj = log_object(COMET_USDC, topics, data)
    (envelope,) = liquidation_envelopes(parse_log(obj, chain_id=1), received_ms=2, block_time_ms=1)
    assert envelope.data.protocol == "compound-v3"
    assert (envelope.data.collateral_asset, envelope.data.debt_asset) == ("WETH", "USDC")
    assert envelope.data.collateral_amount == 2.0
    assert envelope.data.value_usd == int(obj["data"][66:130], 16) / 10**8 == 4200.0
    assert (envelope.data.borrower, envelope.data.liquidator) == (USER, LIQUIDATOR)
    assert envelope.metadata.quality_flags == ["debt_in_absorb_debt"]


@given(
    topics=st.lists(
        st.one_of(
            st.sampled_from([LIQUIDATION_CALL, LIQUIDATION_CALL_V1, ABSORB_COLLATERAL]),
            st.binary(max_size=40),
        ),
        max_size=5,
    ),
    data=st.binary(max_size=200),
)
def test_any_topics_and_bytes_fail_only_with_chain_decode_error(
    topics: list[bytes], data: bytes
) -> None:
    for decode in (decode_liquidation_call, decode_absorb_collateral):
        with contextlib.suppress(ChainDecodeError):
            decode(topics, data)
