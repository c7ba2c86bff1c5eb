"""V3-ABI decoders on the recorded PancakeSwap V3 Swap (USDT/WBNB 0.01 % on BSC).

PancakeSwap V3's Swap is Uniswap V3's plus two uint128 protocol-fee words; the first seven
fields and the price rule are the same, so this real log checks both decoders' shared part.
Expected values are computed here from the raw hex with plain ints and Fractions.
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

from lucent_platform.chains import uniswap_v3
from lucent_platform.chains.abi import UNISWAP_V3_SWAP, ChainDecodeError
from lucent_platform.chains.logs import parse_log
from lucent_platform.envelope import decode, encode

SWAP_LOG = Path(__file__).parent / "fixtures/chain/pancakeswap_v3/log_swap_rpc.json"
BSC = 56
RECEIVED_MS = 1_760_000_000_000


def _obj() -> dict[str, Any]:
    return json.loads(SWAP_LOG.read_text())


def _word(data: str, i: int, *, signed: bool = False) -> int:
    value = int(data[2 + 64 * i : 66 + 64 * i], 16)
    return value - 2**256 if signed and value >= 2**255 else value


def test_pancake_v3_swap_decodes_all_nine_fields() -> None:
    obj = _obj()
    swap = uniswap_v3.decode_swap(parse_log(obj, chain_id=BSC))
    data = obj["data"]
    assert swap.sender == swap.recipient == "0x7eded5ce04fd9bb6d125a0a470cc3ffcd972e182"
    assert swap.amount0 == _word(data, 0, signed=True) > 0
    assert swap.amount1 == _word(data, 1, signed=True) < 0
    assert swap.sqrt_price_x96 == _word(data, 2)
    assert swap.liquidity == _word(data, 3)
    assert swap.tick == _word(data, 4, signed=True) < 0
    assert swap.protocol_fees_token0 == _word(data, 5)
    assert swap.protocol_fees_token1 == _word(data, 6) == 0


def test_pancake_v3_swap_is_a_wbnb_trade_and_price_in_usdt() -> None:
    obj = _obj()
    data = obj["data"]
    usdt_in = Fraction(_word(data, 0, signed=True), 10**18)
    wbnb_out = Fraction(-_word(data, 1, signed=True), 10**18)
    sqrt = _word(data, 2)
    # token0 (USDT) in token1 (WBNB) = (sqrt / 2**96)**2 × 10**(18 - 18); WBNB in USDT inverts it.
    wbnb_in_usdt = 1 / Fraction(sqrt * sqrt, 2**192)

    trade_env, price_env = uniswap_v3.envelopes(
        parse_log(obj, chain_id=BSC), received_ms=RECEIVED_MS, block_time_ms=None
    )

    trade = trade_env.data
    assert (trade.exchange, trade.pair, trade.side) == ("pancakeswap-v3", "WBNB-USDT", "buy")
    assert trade.amount == pytest.approx(float(wbnb_out), rel=1e-12)
    assert trade.price == pytest.approx(float(usdt_in / wbnb_out), rel=1e-12)
    price = price_env.data
    assert price.price == pytest.approx(float(wbnb_in_usdt), rel=1e-12)
    assert 200 < price.price < 2000  # a BNB price in USDT
    # The execution price (fee included) sits just above the post-swap pool price.
    assert price.price <= trade.price < price.price * 1.001
    assert (price.chain, price.block_number, price.log_index) == ("bsc", 0x649BC61, 0x149)
    assert price_env.header.source == "bsc-rpc"
    # No block time given: the receive time stands in and the flag says so.
    assert price_env.metadata.quality_flags == ["no_event_time"]
    assert decode(encode(trade_env)) == trade_env


def test_uniswap_v3_layout_decodes_the_same_seven_fields() -> None:
    """The same values under Uniswap V3's topic0 and without the two fee words."""
    obj = _obj()
    uniswap = {**obj, "topics": ["0x" + UNISWAP_V3_SWAP.hex(), *obj["topics"][1:]]}
    uniswap["data"] = obj["data"][: 2 + 5 * 64]
    pancake = uniswap_v3.decode_swap(parse_log(obj, chain_id=BSC))
    swap = uniswap_v3.decode_swap(parse_log(uniswap, chain_id=BSC))
    assert (swap.amount0, swap.amount1, swap.sqrt_price_x96, swap.liquidity, swap.tick) == (
        pancake.amount0,
        pancake.amount1,
        pancake.sqrt_price_x96,
        pancake.liquidity,
        pancake.tick,
    )
    assert swap.protocol_fees_token0 is None
    # A Pancake topic with Uniswap's shorter data is not a Pancake swap.
    with pytest.raises(ChainDecodeError):
        uniswap_v3.decode_swap(parse_log({**uniswap, "topics": obj["topics"]}, chain_id=BSC))


def test_unknown_v3_pool_leaves_prices_empty() -> None:
    obj = {**_obj(), "address": "0x" + "11" * 20}
    (envelope,) = uniswap_v3.envelopes(
        parse_log(obj, chain_id=BSC), received_ms=RECEIVED_MS, block_time_ms=RECEIVED_MS
    )
    swap = envelope.data
    assert (swap.chain, swap.pool, swap.event, swap.price) == (
        "bsc",
        "0x" + "11" * 20,
        "swap",
        None,
    )
    data = obj["data"]
    assert swap.amount0 == str(_word(data, 0, signed=True))  # exact, and the pool received it
    assert int(swap.amount0) > 0
    assert swap.amount1 == str(_word(data, 1, signed=True))
    assert (swap.sqrt_price_x96, swap.liquidity) == (str(_word(data, 2)), str(_word(data, 3)))
    assert swap.tick == _word(data, 4, signed=True)
    assert swap.dex == "pancakeswap-v3"  # its nine-field Swap names the DEX, not the tokens
    assert envelope.metadata.quality_flags == ["unknown_pool"]


WORD = st.binary(min_size=32, max_size=32)
V3_TOPICS = st.sampled_from([UNISWAP_V3_SWAP, bytes.fromhex(_obj()["topics"][0][2:])])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(WORD, V3_TOPICS), max_size=5), st.binary(max_size=300))
def test_any_topics_and_data_decode_or_fail_clearly(topics: list[bytes], data: bytes) -> None:
    obj = {**_obj(), "topics": ["0x" + t.hex() for t in topics], "data": "0x" + data.hex()}
    with contextlib.suppress(ChainDecodeError):
        uniswap_v3.envelopes(parse_log(obj, chain_id=BSC), received_ms=0, block_time_ms=0)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=12), st.one_of(st.text(), st.integers(), st.none())))
def test_any_log_object_parses_or_fails_clearly(obj: dict[str, Any]) -> None:
    with contextlib.suppress(ChainDecodeError):
        parse_log({**_obj(), **obj}, chain_id=BSC)
