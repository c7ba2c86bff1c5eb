"""The chain decoders on L2s, with recorded real L2 logs (tests/fixtures/chain/<chain>-rpc/,
PROVENANCE.md each): the envelope names the L2 in ``chain`` and ``{chain}-rpc`` in its source,
and prices, amounts and APYs equal what this test recomputes from the raw hex; plus the
shipped registry's L2 entries are well-formed and found only on their own chain."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from lucent_platform.chains import registry
from lucent_platform.chains.abi import ChainDecodeError
from lucent_platform.chains.dex import dex_envelopes
from lucent_platform.chains.lending import reserve_rate_envelopes
from lucent_platform.chains.logs import CHAIN_NAMES, parse_log
from lucent_platform.chains.oracles import answer_updated_envelopes
from lucent_platform.messages import PoolSwap, PriceUpdate, Trade, YieldRate
from tests.chain_fixtures import CHAIN_FIXTURES

ARBITRUM, OPTIMISM, BASE = 42161, 10, 8453
RECEIVED_MS = 1_700_000_000_000
ADDRESS = re.compile(r"^0x[0-9a-f]{40}$")


def fixture(relative: str) -> Any:
    return json.loads((CHAIN_FIXTURES / relative).read_text())


def words(data: str) -> list[int]:
    hex_ = data[2:]
    return [int(hex_[i : i + 64], 16) for i in range(0, len(hex_), 64)]


def signed(word: int) -> int:
    return word - (1 << 256) if word >> 255 else word


# --- OP Mainnet: Chainlink CRV/USD --------------------------------------------------------------


def test_optimism_chainlink_answer_is_crv_usd_on_optimism() -> None:
    """Recorded: an OCR transmission's three logs; the AnswerUpdated one is the price."""
    logs = fixture("optimism-rpc/eth_getLogs_crv_usd_aggregator.json")["result"]
    transmission, new_round, answer_log = logs
    answer = int(answer_log["topics"][1], 16)
    round_id = int(answer_log["topics"][2], 16)
    updated_at = int(answer_log["data"], 16)
    # The same round seen three ways in the one transaction.
    assert words(transmission["data"])[0] == answer == 0x04F82D45
    assert int(transmission["topics"][1], 16) == round_id == int(new_round["topics"][1], 16)
    assert int(new_round["data"], 16) == updated_at == 1_685_505_994  # 2023-05-31T04:06:34Z

    log = parse_log(answer_log, chain_id=OPTIMISM)
    (envelope,) = answer_updated_envelopes(
        log, received_ms=RECEIVED_MS, block_time_ms=updated_at * 1000
    )
    data = envelope.data
    assert isinstance(data, PriceUpdate)
    assert (data.exchange, data.pair, data.chain) == ("chainlink", "CRV-USD", "optimism")
    assert envelope.header.source == "optimism-rpc"
    assert data.price == float(Decimal(answer) / Decimal(10**8)) == 0.83373381
    assert (data.block_number, data.log_index) == (0x625571C, 2)
    assert data.tx_hash == answer_log["transactionHash"]
    assert envelope.header.event_time_ms == updated_at * 1000
    assert not envelope.metadata.quality_flags  # an answer of its own block is fresh
    # The other two logs are no AnswerUpdated: the decoder refuses them by name.
    for other in (transmission, new_round):
        with pytest.raises(ChainDecodeError):
            answer_updated_envelopes(
                parse_log(other, chain_id=OPTIMISM), received_ms=RECEIVED_MS, block_time_ms=None
            )


# --- Arbitrum One: Camelot WETH/ARB and an unregistered pair ----------------------------------


ARB_LOGS = {
    int(o["logIndex"], 16): o for o in fixture("arbitrum-rpc/receipt_logs_camelot_swaps.json")
}


def arbitrum(index: int) -> list[Any]:
    log = parse_log(ARB_LOGS[index], chain_id=ARBITRUM)
    envelopes = dex_envelopes(log, received_ms=RECEIVED_MS, block_time_ms=None)
    assert envelopes is not None
    for envelope in envelopes:
        assert envelope.data.chain == "arbitrum"
        assert envelope.header.source == "arbitrum-rpc"
        assert envelope.data.block_number == 0x5259C43 == 86_350_915
        assert envelope.data.log_index == index
    return [e.data for e in envelopes]


def test_camelot_sync_prices_arb_in_weth_from_the_reserves() -> None:
    reserve_weth, reserve_arb = words(ARB_LOGS[0x1D]["data"])  # token0 WETH, token1 ARB
    (update,) = arbitrum(0x1D)
    assert isinstance(update, PriceUpdate)
    assert (update.exchange, update.pair) == ("camelot", "ARB-WETH")
    # Both tokens have 18 decimals: WETH per ARB is the ratio of the raw reserves.
    assert update.price == float(Fraction(reserve_weth, reserve_arb))
    assert 0.0006 < update.price < 0.0009  # ARB ≈ $1.2 at ETH ≈ $1,850 (May 2023)


def test_camelot_swap_is_a_buy_of_arb_paid_in_weth() -> None:
    weth_in, arb_in, weth_out, arb_out = words(ARB_LOGS[0x1E]["data"])
    assert (arb_in, weth_out) == (0, 0)
    # The receipt's own transfers say the same amounts: WETH into the pair, ARB out of it.
    assert int(ARB_LOGS[0x19]["data"], 16) == weth_in
    assert int(ARB_LOGS[0x1C]["data"], 16) == arb_out
    (trade,) = arbitrum(0x1E)
    assert isinstance(trade, Trade)
    assert (trade.exchange, trade.pair, trade.side) == ("camelot", "ARB-WETH", "buy")
    assert trade.amount == float(Fraction(arb_out, 10**18))
    assert trade.price == float(Fraction(weth_in, arb_out))
    assert trade.trade_id == f"{ARB_LOGS[0x1E]['transactionHash']}:{0x1E}"
    # The trade paid a little more than the pool's price after it (fee and price impact).
    (after,) = arbitrum(0x1D)
    assert after.price < trade.price < after.price * 1.01


def test_an_unregistered_arbitrum_pair_keeps_its_raw_amounts() -> None:
    (sync,) = arbitrum(0x1A)
    (swap,) = arbitrum(0x1B)
    reserve0, reserve1 = words(ARB_LOGS[0x1A]["data"])
    in0, in1, out0, out1 = words(ARB_LOGS[0x1B]["data"])
    assert isinstance(sync, PoolSwap) and isinstance(swap, PoolSwap)
    assert sync.pool == swap.pool == "0x6a78e84fa0edad4d99eb90edc041cdbf85925961"
    assert (sync.event, sync.reserve0, sync.reserve1) == ("sync", str(reserve0), str(reserve1))
    assert (swap.event, swap.amount0, swap.amount1) == ("swap", str(in0 - out0), str(in1 - out1))
    assert int(swap.amount0 or 0) == int(ARB_LOGS[0x18]["data"], 16)  # the token sent in
    assert swap.price is None


# --- Base: Aave v3 ReserveDataUpdated -----------------------------------------------------------


def test_base_aave_v3_reserve_update_is_usdbc_on_base() -> None:
    (obj,) = fixture("base-rpc/log_ReserveDataUpdated_usdbc.json")
    liquidity, stable, variable, liquidity_index, borrow_index = words(obj["data"])
    # USDbC's first supply on Aave's Base market: nothing borrowed yet, indexes at one ray.
    assert (liquidity, variable) == (0, 0)
    assert liquidity_index == borrow_index == 10**27
    assert Decimal(stable) / Decimal(10**27) == Decimal("0.05")  # the 5 % stable base rate
    (envelope,) = reserve_rate_envelopes(
        parse_log(obj, chain_id=BASE), received_ms=RECEIVED_MS, block_time_ms=1_692_716_063_000
    )
    data = envelope.data
    assert isinstance(data, YieldRate)
    assert (data.protocol, data.pool, data.asset, data.chain) == (
        "aave-v3",
        "usdbc-lending",
        "USDbC",
        "base",
    )
    assert data.apy == data.supply_apy == 0.0 and data.borrow_apy == 0.0
    assert envelope.header.source == "base-rpc"
    assert envelope.header.event_time_ms == 1_692_716_063_000
    assert (data.block_number, data.log_index) == (2_963_358, 25)
    assert data.tx_hash == obj["transactionHash"]
    assert not envelope.metadata.quality_flags


# --- the registry's L2 entries ----------------------------------------------------------------


L2_NAMES = {CHAIN_NAMES[ARBITRUM], CHAIN_NAMES[OPTIMISM], CHAIN_NAMES[BASE]}


def test_every_l2_chain_has_a_pool_a_feed_an_aave_pool_and_a_comet() -> None:
    for chain in L2_NAMES:
        assert any(p.chain == chain and p.abi == "uniswap_v3" for p in registry.POOLS)
        assert any(f.chain == chain and f.pair == "ETH-USD" for f in registry.FEEDS)
        protocols = {m.protocol for m in registry.LENDING_MARKETS if m.chain == chain}
        assert protocols == {"aave-v3", "compound-v3"}
        comet = next(m for m in registry.LENDING_MARKETS
                     if m.chain == chain and m.protocol == "compound-v3")  # fmt: skip
        assert comet.base is not None and comet.base.symbol == "USDC"
        assert registry.token_at(chain, comet.base.address) == comet.base


def test_l2_pools_are_well_formed_and_known_only_on_their_chain() -> None:
    pools = [p for p in registry.POOLS if p.chain in L2_NAMES]
    assert len(pools) >= 4
    for pool in pools:
        assert ADDRESS.match(pool.address)
        # The factories sort a pair's tokens by address: token0 is the lower one.
        assert pool.token0.address < pool.token1.address
        assert registry.pool_at(pool.chain, pool.address.upper().replace("0X", "0x")) == pool
        assert registry.pool_at("ethereum", pool.address) is None
        assert pool.dex == "camelot" or pool.dex.endswith(pool.chain)  # own venue per chain
        for token in (pool.token0, pool.token1):
            assert registry.token_at(pool.chain, token.address) == token
    assert {p.pair for p in pools} >= {"WETH-USDC", "ARB-WETH"}
    weth = {registry.token_at(c, "0x4200000000000000000000000000000000000006") for c in L2_NAMES}
    assert {t.symbol if t else None for t in weth} == {"WETH", None}  # OP and Base, not Arbitrum
