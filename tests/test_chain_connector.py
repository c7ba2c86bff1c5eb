"""ChainConnector: one received chain item (a log object or a JSON-RPC response) → envelopes.

Logs are the recorded block 11017338 (tests/fixtures/chain/uniswap_v2); its timestamp,
1602193349, is the recorded Chainlink rounds' ``updatedAt`` (FluxAggregator writes
``block.timestamp``). ``eth_call`` returns are built with eth-abi from the documented layouts
(no public recording found), as the decoder tests do. Expected values come from the raw hex.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode
from hypothesis import given, settings
from hypothesis import strategies as st

from lucent_platform.chains.connector import (
    DECIMALS,
    FACTORY,
    GET_BORROW_RATE,
    GET_REFERENCE_DATA,
    GET_RESERVE_DATA,
    GET_SUPPLY_RATE,
    LATEST_ROUND_DATA,
    SYMBOL,
    TOKEN0,
    TOKEN1,
    ChainConnector,
    ChainFrame,
    selector,
)
from lucent_platform.chains.rates import per_second_to_apy
from lucent_platform.chains.routes import LOG_TOPICS, ROUTES
from lucent_platform.envelope import decode
from lucent_platform.envelope import encode as encode_envelope
from tests.fixtures.hostile import TEXTS, envelopes, frames

BLOCK = Path(__file__).parent / "fixtures/chain/uniswap_v2/logs_block_11017338.json"
PANCAKE_SWAP = Path(__file__).parent / "fixtures/chain/pancakeswap_v3/log_swap_rpc.json"
BLOCK_NUMBER = 11017338
BLOCK_TIME_S = 1602193349
RECEIVED_NS = 1_602_193_400_123_000_000
USDC_WETH = "0xb4e16d0168e52d35cacd2c6185b44281ec28c9dc"
SYNC = "0x1c411e9a96e071241c2f21f7726b17ae89e3cab4c78be50e062b03a9fffbbad1"
SWAP = "0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822"
YFI_ETH_FEED = "0x4a03707a1bfefc2836a69b1a6a6bd752270041a9"
COMET = "0xc3d688b66703497daa19211eedff47f25384cdc3"
UNISWAP_V2_FACTORY = "0x5c69bee701ef814a2b6a3edd4b1652cb9cc5aa6f"


def _logs() -> list[dict[str, Any]]:
    return list(json.loads(BLOCK.read_text()))


def _response(result: Any, method: str, *params: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"jsonrpc": "2.0", "id": 1, "result": result}, {"method": method, "params": list(params)}


def _frame(message: Any, request: dict[str, Any] | None = None) -> ChainFrame:
    return ChainFrame("ethereum", RECEIVED_NS, message, request)


def _call(to: str, data: str, result: bytes, block: str = hex(BLOCK_NUMBER)) -> ChainFrame:
    message, request = _response("0x" + result.hex(), "eth_call", {"to": to, "data": data}, block)
    return _frame(message, request)


def _header() -> ChainFrame:
    header = {"number": hex(BLOCK_NUMBER), "timestamp": hex(BLOCK_TIME_S), "hash": "0x" + "ab" * 32}
    return _frame(*_response(header, "eth_getBlockByNumber", hex(BLOCK_NUMBER), False))


def _words(data: str) -> list[int]:
    return [int(data[2 + 64 * i : 66 + 64 * i], 16) for i in range((len(data) - 2) // 64)]


def test_the_routing_table_lists_every_decoded_event_for_the_log_filter() -> None:
    assert len(LOG_TOPICS) == len(ROUTES) == len(set(LOG_TOPICS))
    assert SYNC in LOG_TOPICS and SWAP in LOG_TOPICS
    assert selector("latestRoundData()") == LATEST_ROUND_DATA == "0xfeaf968c"
    assert (TOKEN0, TOKEN1, DECIMALS) == ("0x0dfe1681", "0xd21220a7", "0x313ce567")


def test_a_whole_get_logs_response_decodes_every_routed_log_in_order() -> None:
    connector = ChainConnector("ethereum")
    logs = _logs()
    result = connector.parse(_frame(*_response(logs, "eth_getLogs", {"fromBlock": "0xa81c7a"})))
    assert result.rejected is None
    routed = [obj for obj in logs if obj["topics"] and obj["topics"][0] in LOG_TOPICS]
    located = [(e.data.tx_hash, e.data.log_index) for e in result.envelopes]
    assert located == sorted(set(located), key=located.index)  # one per log here, in log order
    assert [int(obj["logIndex"], 16) for obj in routed] == [index for _, index in located]
    # the block was never seen: the receive time stands in, and says so
    assert all("no_event_time" in (e.metadata.quality_flags or []) for e in result.envelopes)
    assert {e.header.event_time_ms for e in result.envelopes} == {RECEIVED_NS // 1_000_000}


def test_a_learnt_block_gives_the_event_time_and_the_head() -> None:
    connector = ChainConnector("ethereum")
    header = connector.parse(_header())
    assert header.control and header.head == BLOCK_NUMBER and not header.envelopes
    obj = next(o for o in _logs() if o["address"] == USDC_WETH and o["topics"][0] == SYNC)
    (price,) = connector.parse(_frame(obj)).envelopes
    assert price.header.event_time_ms == BLOCK_TIME_S * 1000
    assert price.metadata.quality_flags is None
    reserve_usdc, reserve_weth = _words(obj["data"])
    expected = Fraction(reserve_usdc, 10**6) / Fraction(reserve_weth, 10**18)
    assert (price.data.exchange, price.data.pair) == ("uniswap-v2", "WETH-USDC")
    assert price.data.price == float(expected)
    assert connector.block_time_ms(BLOCK_NUMBER) == BLOCK_TIME_S * 1000
    number = connector.parse(_frame(*_response("0xa81c7b", "eth_blockNumber")))
    assert number.control and number.head == BLOCK_NUMBER + 1


def test_the_block_cache_is_a_bounded_lru() -> None:
    connector = ChainConnector("ethereum", block_cache=2)
    connector.learn_block(1, 10)
    connector.learn_block(2, 20)
    assert connector.block_time_ms(1) == 10_000  # 1 is now the most recently used
    connector.learn_block(3, 30)
    assert connector.block_time_ms(2) is None
    assert (connector.block_time_ms(1), connector.block_time_ms(3)) == (10_000, 30_000)


def test_an_unknown_pool_is_reported_once_then_priced_from_its_metadata_answers() -> None:
    # SushiSwap's SUSHI/WETH is in the registry; pretend a pool of the block is not: pick the
    # first Sync of a pool missing from the registry and teach the connector its tokens.
    connector = ChainConnector("ethereum")
    connector.parse(_header())
    syncs = [
        o
        for o in _logs()
        if o["topics"][0] == SYNC and connector.pool("ethereum", o["address"]) is None
    ]
    obj = syncs[0]
    pool = obj["address"]
    first = connector.parse(_frame(obj))
    assert first.unknown_pools == [pool]
    reserve0, reserve1 = _words(obj["data"])
    assert first.envelopes[0].data.price is None  # a PoolSwap with the exact reserves
    assert first.envelopes[0].data.reserve0 == str(reserve0)
    assert "unknown_pool" in (first.envelopes[0].metadata.quality_flags or [])
    assert connector.parse(_frame(obj)).unknown_pools == []  # listed once
    token_a = "0x" + "11" * 20
    for sel, answer in ((TOKEN0, token_a), (TOKEN1, "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"),
                        (FACTORY, UNISWAP_V2_FACTORY)):  # fmt: skip
        assert connector.parse(_call(pool, sel, encode(["address"], [answer]))).control
    assert connector.pool("ethereum", pool) is None  # token_a's decimals are still unknown
    connector.parse(_call(token_a, DECIMALS, encode(["uint8"], [9])))
    assert connector.pool("ethereum", pool) is None  # and its symbol
    connector.parse(_call(token_a, SYMBOL, encode(["string"], ["Abc-1"])))
    learnt = connector.pool("ethereum", pool)
    assert learnt is not None and (learnt.dex, learnt.pair) == ("uniswap-v2", "ABC1-WETH")
    (price,) = connector.parse(_frame(obj)).envelopes
    assert price.data.price == float(Fraction(reserve1, 10**18) / Fraction(reserve0, 10**9))
    assert price.metadata.quality_flags is None


def test_a_token_whose_symbol_call_reverts_gets_a_made_up_symbol() -> None:
    connector = ChainConnector("ethereum")
    pool, token = "0x" + "22" * 20, "0x" + "33" * 20
    for sel, answer in ((TOKEN0, "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"), (TOKEN1, token),
                        (FACTORY, "0x" + "44" * 20)):  # fmt: skip
        connector.parse(_call(pool, sel, encode(["address"], [answer])))
    connector.parse(_call(token, DECIMALS, encode(["uint8"], [6])))
    error = {"jsonrpc": "2.0", "id": 9, "error": {"code": 3, "message": "execution reverted"}}
    request = {"method": "eth_call", "params": [{"to": token, "data": SYMBOL}, "latest"]}
    assert connector.parse(_frame(error, request)).rejected == "rpc error: 3 execution reverted"
    learnt = connector.pool("ethereum", pool)
    assert learnt is not None
    assert (learnt.dex, learnt.pair, learnt.base) == ("uniswap-v2-fork", "T33333333-WETH", 1)


def test_a_pool_whose_factory_call_reverts_is_a_fork_of_its_swap_family() -> None:
    connector = ChainConnector("ethereum")
    pancake_v3 = dict(json.loads(PANCAKE_SWAP.read_text()), address="0x" + "55" * 20)
    assert connector.parse(_frame(pancake_v3)).unknown_pools == ["0x" + "55" * 20]
    usdc, weth = (
        "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
        "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2",
    )
    connector.parse(_call(pancake_v3["address"], TOKEN0, encode(["address"], [usdc])))
    connector.parse(_call(pancake_v3["address"], TOKEN1, encode(["address"], [weth])))
    error = {"jsonrpc": "2.0", "id": 4, "error": {"code": 3, "message": "execution reverted"}}
    request = {"method": "eth_call", "params": [{"to": pancake_v3["address"], "data": FACTORY}]}
    assert connector.parse(_frame(error, request)).rejected == "rpc error: 3 execution reverted"
    learnt = connector.pool("ethereum", pancake_v3["address"])
    assert learnt is not None
    assert (learnt.dex, learnt.abi, learnt.pair) == ("pancake-v3-fork", "pancake_v3", "WETH-USDC")


def test_latest_round_data_is_a_chainlink_price_with_staleness() -> None:
    connector = ChainConnector("ethereum")
    connector.parse(_header())
    answer = 48564850663303835000
    result = encode(
        ["uint80", "int256", "uint256", "uint256", "uint80"],
        [168, answer, BLOCK_TIME_S, BLOCK_TIME_S, 168],
    )
    (env,) = connector.parse(_call(YFI_ETH_FEED, LATEST_ROUND_DATA, result)).envelopes
    assert (env.data.exchange, env.data.pair) == ("chainlink", "YFI-ETH")
    assert env.data.price == float(Decimal(answer) / Decimal(10**18))
    assert env.header.event_time_ms == BLOCK_TIME_S * 1000
    assert env.metadata.quality_flags is None
    old = encode(["uint80", "int256", "uint256", "uint256", "uint80"],
                 [167, answer, BLOCK_TIME_S - 7200, BLOCK_TIME_S - 7200, 167])  # fmt: skip
    (stale,) = connector.parse(_call(YFI_ETH_FEED, LATEST_ROUND_DATA, old)).envelopes
    assert stale.metadata.quality_flags == ["stale"]
    again = connector.parse(_call(YFI_ETH_FEED, LATEST_ROUND_DATA, result)).envelopes[0]
    assert again.header.message_id == env.header.message_id  # same round, same message


def test_band_reference_data_takes_its_pair_from_the_call_arguments() -> None:
    connector = ChainConnector("ethereum")
    connector.parse(_header())
    data = GET_REFERENCE_DATA + encode(["string", "string"], ["BTC", "USD"]).hex()
    rate = 11_500_123_000_000_000_000_000  # 11500.123 scaled by 1e18
    result = encode(["uint256", "uint256", "uint256"], [rate, BLOCK_TIME_S - 30, BLOCK_TIME_S])
    band = "0xdf0f4e2b0fbb9a7d7a1c5e6f4a7e3d1f7f0e2b11"
    (env,) = connector.parse(_call(band, data, result)).envelopes
    assert (env.data.exchange, env.data.pair, env.data.price) == ("band", "BTC-USD", 11500.123)
    assert env.header.event_time_ms == (BLOCK_TIME_S - 30) * 1000


def test_comet_rates_become_one_yield_rate_once_both_are_in() -> None:
    connector = ChainConnector("ethereum")
    connector.parse(_header())
    supply, borrow = 1_000_000_000, 1_500_000_000  # per second, 1e18 scale
    util = encode(["uint256"], [8 * 10**17]).hex()
    first = connector.parse(_call(COMET, GET_SUPPLY_RATE + util, encode(["uint64"], [supply])))
    assert first.control and not first.envelopes
    (env,) = connector.parse(
        _call(COMET, GET_BORROW_RATE + util, encode(["uint64"], [borrow]))
    ).envelopes
    assert (env.data.protocol, env.data.pool, env.data.asset) == (
        "compound-v3",
        "usdc-comet",
        "USDC",
    )
    assert env.data.supply_apy == per_second_to_apy(supply) * 100
    assert env.data.borrow_apy == per_second_to_apy(borrow) * 100
    assert env.header.event_time_ms == BLOCK_TIME_S * 1000


def test_aave_v3_reserve_data_is_a_yield_rate_of_the_reserve_asked_for() -> None:
    connector = ChainConnector("ethereum")
    connector.parse(_header())
    aave_v3 = "0x87870bca3f3fd6335c3f4ce8392d69350b4fa4e2"
    usdc = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
    supply_ray, borrow_ray = 3 * 10**25, 5 * 10**25  # 3 % and 5 % APR
    tokens = ["0x" + byte * 20 for byte in ("01", "00", "02", "03")]  # aToken, debt tokens, …
    words = [0, 10**27, supply_ray, 10**27, borrow_ray, 0, BLOCK_TIME_S, 3, *tokens, 0, 0, 0]
    types = ["uint256", *["uint128"] * 5, "uint40", "uint16", *["address"] * 4, *["uint128"] * 3]
    data = GET_RESERVE_DATA + encode(["address"], [usdc]).hex()
    (env,) = connector.parse(_call(aave_v3, data, encode(types, words))).envelopes
    assert (env.data.protocol, env.data.pool, env.data.asset) == ("aave-v3", "usdc-lending", "USDC")
    year = 31_536_000
    with localcontext() as ctx:  # per-second compounding in Decimal, 40 digits
        ctx.prec = 40
        supply = ((1 + Decimal(supply_ray) / 10**27 / year) ** year - 1) * 100
        borrow = ((1 + Decimal(borrow_ray) / 10**27 / year) ** year - 1) * 100
    assert env.data.supply_apy == pytest.approx(float(supply), rel=1e-9)
    assert env.data.borrow_apy == pytest.approx(float(borrow), rel=1e-9)
    assert env.data.block_number == BLOCK_NUMBER
    assert env.header.event_time_ms == BLOCK_TIME_S * 1000 and env.metadata.quality_flags is None
    short = connector.parse(_call(aave_v3, data, encode(types[:12], words[:12])))
    assert short.rejected is not None and short.rejected.startswith("bad response: getReserveData")


def test_errors_and_garbage_are_rejected_with_a_reason() -> None:
    connector = ChainConnector("ethereum")
    error = {"jsonrpc": "2.0", "id": 3, "error": {"code": -32005, "message": "limit exceeded"}}
    assert connector.parse(_frame(error, {"method": "eth_getLogs"})).rejected == (
        "rpc error: -32005 limit exceeded"
    )
    assert connector.parse(_frame("nope")).rejected.startswith("bad item:")
    assert connector.parse(ChainFrame("base", RECEIVED_NS, {})).rejected.startswith("wrong chain:")
    assert connector.parse(ChainFrame("ethereum", -1, {})).rejected.startswith("bad time:")
    sync = next(o for o in _logs() if o["topics"][0] == SYNC)
    bad = dict(sync, data="0xzz")
    assert connector.parse(_frame(bad)).rejected.startswith("bad log:")
    assert connector.parse(
        _frame(*_response("0x", "eth_call", {"to": COMET, "data": "0x12345678"}, "latest"))
    ).skipped
    unrouted = next(o for o in _logs() if o["topics"] and o["topics"][0] not in LOG_TOPICS)
    assert connector.parse(_frame(unrouted)).skipped.startswith("event not decoded")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    | st.sampled_from(["0x", "0x1", hex(BLOCK_NUMBER), SYNC, USDC_WETH, "latest"]),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(
        st.sampled_from(["topics", "data", "address", "result", "error", "number", "timestamp",
                         "blockNumber", "logIndex", "transactionHash", "method", "params"]),
        inner, max_size=6),
    max_leaves=20,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(message=_json, request=st.none() | _json, received_ns=st.integers())
def test_any_json_in_gives_a_result_never_an_exception(
    message: Any, request: Any, received_ns: int
) -> None:
    result = ChainConnector("ethereum").parse(ChainFrame("ethereum", received_ns, message, request))
    assert not (result.rejected or "").startswith("unparseable")  # no decoder bug met
    for envelope in result.envelopes:
        assert decode(encode_envelope(envelope)).header.message_id == envelope.header.message_id


_SELECTORS = [
    LATEST_ROUND_DATA,
    GET_REFERENCE_DATA,
    GET_SUPPLY_RATE,
    GET_BORROW_RATE,
    GET_RESERVE_DATA,
    TOKEN0,
    TOKEN1,
    FACTORY,
    DECIMALS,
    SYMBOL,
    "0x12345678",
]


@settings(max_examples=300, deadline=None)
@given(
    selector_=st.sampled_from(_SELECTORS),
    args=st.binary(max_size=96),
    result=st.binary(max_size=200) | st.sampled_from([b"", b"\x00" * 32, b"\xff" * 32]),
    block=st.sampled_from(["latest", "0x0", hex(BLOCK_NUMBER), "0x", "pending", None]),
    to=st.sampled_from([YFI_ETH_FEED, COMET, USDC_WETH, "0x12", None]),
)
def test_any_eth_call_answer_gives_a_result_never_an_exception(
    selector_: str,
    args: bytes,
    result: bytes,
    block: Any,
    to: Any,
) -> None:
    connector = ChainConnector("ethereum")
    call = {"to": to, "data": selector_ + args.hex()}
    for _ in range(2):  # the second answer completes Comet pairs and pools
        parsed = connector.parse(_call_frame(call, "0x" + result.hex(), block))
        assert parsed.rejected is None or ":" in parsed.rejected
        assert not (parsed.rejected or "").startswith("unparseable")  # no decoder bug met
        for envelope in parsed.envelopes:
            assert decode(encode_envelope(envelope)) == envelope


def _call_frame(call: dict[str, Any], result: str, block: Any) -> ChainFrame:
    return _frame(*_response(result, "eth_call", call, block))


@pytest.mark.parametrize("field", ["address", "data", "blockNumber", "logIndex", "transactionHash"])
def test_hostile_text_in_a_log_field_is_rejected_or_never_a_name(field: str) -> None:
    """Each corpus text (and each small corpus frame as text) in place of one field
    of every real log: a result with a reason, never an exception, and no envelope whose
    address, pool or hash is anything but lower-case 0x hex."""
    connector = ChainConnector("ethereum")
    for text in [*TEXTS.values(), *(c.value.decode("utf-8", "replace") for c in frames(big=False))]:
        logs = _logs()
        for obj in logs:
            obj[field] = text
        result = connector.parse(_frame(*_response(logs, "eth_getLogs", {"fromBlock": "0x1"})))
        assert not (result.rejected or "").startswith("unparseable")
        for envelope in result.envelopes:
            data = envelope.data
            for name in ("pool", "tx_hash", "bridge"):
                value = getattr(data, name, None)
                assert value is None or re.fullmatch(r"0x[0-9a-f]+", value), (name, value)


def test_the_hostile_corpus_as_a_whole_message_is_rejected() -> None:
    connector = ChainConnector("ethereum")
    for case in [*frames(), *envelopes()]:
        for message in (case.value, case.value.decode("utf-8", "surrogateescape")):
            result = connector.parse(_frame(message))
            assert not result.envelopes and (result.rejected or result.skipped), case
