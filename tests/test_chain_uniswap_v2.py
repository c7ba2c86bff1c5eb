"""Uniswap V2-ABI decoders (Uniswap V2, SushiSwap) on the recorded logs of block 11017338.

Expected values are computed here from the raw hex with plain ints and Fractions, not with
the decoders.
"""

from __future__ import annotations

import contextlib
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lucent_platform.chains import uniswap_v2
from lucent_platform.chains.abi import ChainDecodeError
from lucent_platform.chains.dex import dex_envelopes
from lucent_platform.chains.logs import parse_log
from lucent_platform.chains.registry import pool_at
from lucent_platform.envelope import decode, encode, message_id_for
from lucent_platform.messages import PoolSwap

BLOCK = Path(__file__).parent / "fixtures/chain/uniswap_v2/logs_block_11017338.json"
USDC_WETH = "0xb4e16d0168e52d35cacd2c6185b44281ec28c9dc"
SUSHI_WETH = "0x795065dcc9f64b5614c407a6efdc400da6221fb0"
SWAP = "0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822"
SYNC = "0x1c411e9a96e071241c2f21f7726b17ae89e3cab4c78be50e062b03a9fffbbad1"
RECEIVED_MS = 1_602_144_000_000
BLOCK_TIME_MS = 1_602_143_990_000


def _logs() -> list[dict[str, Any]]:
    return json.loads(BLOCK.read_text())


def _one(address: str, topic0: str, log_index: int) -> dict[str, Any]:
    return next(
        obj
        for obj in _logs()
        if obj["address"] == address
        and obj["topics"][0] == topic0
        and int(obj["logIndex"], 16) == log_index
    )


def _words(data: str) -> list[int]:
    return [int(data[2 + 64 * i : 66 + 64 * i], 16) for i in range((len(data) - 2) // 64)]


def _decoded(obj: dict[str, Any]) -> list[Any]:
    log = parse_log(obj, chain_id=1)
    return uniswap_v2.envelopes(log, received_ms=RECEIVED_MS, block_time_ms=BLOCK_TIME_MS)


def test_sync_of_usdc_weth_is_the_weth_price_in_usdc() -> None:
    obj = _one(USDC_WETH, SYNC, 0x38)
    reserve_usdc, reserve_weth = _words(obj["data"])
    expected = Fraction(reserve_usdc, 10**6) / Fraction(reserve_weth, 10**18)

    [envelope] = _decoded(obj)

    data = envelope.data
    assert (data.exchange, data.pair) == ("uniswap-v2", "WETH-USDC")
    assert data.price == pytest.approx(float(expected), rel=1e-12)
    assert 340 < data.price < 360  # ETH was ≈ $350 on 2020-10-08
    assert (data.chain, data.block_number, data.log_index) == ("ethereum", 11017338, 0x38)
    assert data.tx_hash == obj["transactionHash"]
    assert envelope.header.source == "ethereum-rpc"
    assert envelope.header.event_time_ms == BLOCK_TIME_MS
    assert envelope.metadata.data_quality == "high"
    assert decode(encode(envelope)) == envelope


@pytest.mark.parametrize(("log_index", "side"), [(0x39, "buy"), (0xA2, "sell")])
def test_swaps_of_usdc_weth_are_trades_of_weth(log_index: int, side: str) -> None:
    obj = _one(USDC_WETH, SWAP, log_index)
    usdc_in, weth_in, usdc_out, weth_out = _words(obj["data"])
    weth = Fraction(abs(weth_in - weth_out), 10**18)
    usdc = Fraction(abs(usdc_in - usdc_out), 10**6)

    [envelope] = _decoded(obj)

    trade = envelope.data
    assert (trade.exchange, trade.pair, trade.side) == ("uniswap-v2", "WETH-USDC", side)
    assert trade.amount == pytest.approx(float(weth), rel=1e-12)
    assert trade.price == pytest.approx(float(usdc / weth), rel=1e-12)
    assert trade.trade_id == f"{obj['transactionHash']}:{log_index}"
    assert envelope.header.message_id == message_id_for(
        "ethereum", obj["transactionHash"], log_index, "trade", "trade"
    )


def test_first_usdc_weth_swap_values() -> None:
    """The swap at log 0x39: 99,139.976158 USDC in, 281.2123… WETH out (read off the hex)."""
    [envelope] = _decoded(_one(USDC_WETH, SWAP, 0x39))
    assert envelope.data.amount == pytest.approx(281.212336150116523597)
    assert envelope.data.price == pytest.approx(99139.976158 / 281.212336150116523597)


def test_sushiswap_pair_shares_the_v2_abi() -> None:
    obj = _one(SUSHI_WETH, SWAP, 0xC)
    _sushi_in, weth_in, sushi_out, _weth_out = _words(obj["data"])

    [envelope] = _decoded(obj)

    trade = envelope.data
    assert (trade.exchange, trade.pair, trade.side) == ("sushiswap", "SUSHI-WETH", "buy")
    assert trade.amount == pytest.approx(sushi_out / 1e18)
    assert trade.price == pytest.approx(float(Fraction(weth_in, sushi_out)), rel=1e-12)


def test_unknown_pool_keeps_raw_amounts_and_says_why() -> None:
    unknown = "0x2fdbadf3c4d5a8666bc06645b8358ab803996e28"  # not in the registry
    obj = next(o for o in _logs() if o["address"] == unknown and o["topics"][0] == SWAP)
    a0_in, a1_in, a0_out, a1_out = _words(obj["data"])

    [envelope] = _decoded(obj)

    swap = envelope.data
    assert isinstance(swap, PoolSwap)  # no Trade: without decimals there is no price
    assert (swap.chain, swap.pool, swap.event, swap.price, swap.dex) == (
        "ethereum",
        unknown,
        "swap",
        None,
        None,
    )
    assert (int(swap.amount0), int(swap.amount1)) == (a0_in - a0_out, a1_in - a1_out)
    assert swap.sender == "0x" + obj["topics"][1][-40:]
    assert swap.recipient == "0x" + obj["topics"][2][-40:]
    assert (swap.block_number, swap.log_index) == (11017338, int(obj["logIndex"], 16))
    assert swap.tx_hash == obj["transactionHash"]
    assert envelope.metadata.data_quality == "low"
    assert envelope.metadata.quality_flags == ["unknown_pool"]


def test_unknown_pools_sync_keeps_its_exact_reserves() -> None:
    obj = next(
        o for o in _logs() if o["topics"][0] == SYNC and pool_at("ethereum", o["address"]) is None
    )
    reserve0, reserve1 = _words(obj["data"])
    [envelope] = _decoded(obj)
    assert (envelope.data.event, envelope.data.amount0) == ("sync", None)
    assert (envelope.data.reserve0, envelope.data.reserve1) == (str(reserve0), str(reserve1))


def test_every_swap_and_sync_of_the_block_decodes() -> None:
    v2 = [o for o in _logs() if o["topics"][0] in (SWAP, SYNC)]
    envelopes = [e for obj in v2 for e in _decoded(obj)]
    assert len(envelopes) == len(v2) == 81
    assert len({e.header.message_id for e in envelopes}) == 81


def test_a_removed_log_is_a_retraction_with_the_same_message_id() -> None:
    obj = _one(USDC_WETH, SWAP, 0x39)
    [original] = _decoded(obj)
    [retraction] = _decoded({**obj, "removed": True})
    assert retraction.header.message_id == original.header.message_id
    assert retraction.data == original.data
    assert retraction.metadata.quality_flags == ["retracted"]
    assert retraction.metadata.data_quality == "low"


def test_other_events_are_a_decode_error() -> None:
    transfer = next(o for o in _logs() if o["topics"][0].startswith("0xddf252ad"))
    with pytest.raises(ChainDecodeError):
        _decoded(transfer)


WORD = st.binary(min_size=32, max_size=32)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(WORD, st.sampled_from([bytes.fromhex(SWAP[2:]), bytes.fromhex(SYNC[2:])])),
        max_size=5,
    ),
    st.binary(max_size=200),
)
def test_any_topics_and_data_decode_or_fail_clearly(topics: list[bytes], data: bytes) -> None:
    obj = {
        "address": USDC_WETH,
        "topics": ["0x" + t.hex() for t in topics],
        "data": "0x" + data.hex(),
        "blockNumber": "0x1",
        "transactionHash": "0x" + "ab" * 32,
        "logIndex": "0x0",
        "removed": False,
    }
    with contextlib.suppress(ChainDecodeError):
        _decoded(obj)


def test_dex_entry_point_routes_by_topic0() -> None:
    logs = [parse_log(obj, chain_id=1) for obj in _logs()]
    routed = [
        dex_envelopes(log, received_ms=RECEIVED_MS, block_time_ms=BLOCK_TIME_MS) for log in logs
    ]
    decoded = [r for r in routed if r is not None]
    assert len(decoded) == 81  # the block's V2 Swap and Sync logs; transfers etc. are None
    assert sum(len(r) for r in decoded) == 81
