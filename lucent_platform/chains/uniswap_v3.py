"""Uniswap V3 pool ``Swap`` logs, and PancakeSwap V3's variant with two protocol-fee fields.

The recorded PancakeSwap V3 ``Swap`` of the USDT/WBNB 0.01 % pool on BSC, block 105626721
(nautilus_trader's test data; data words: amount0, amount1, sqrtPriceX96, liquidity, tick,
protocolFeesToken0, protocolFeesToken1)::

    {"address": "0x172fcd41e0913e95784454622d1c3724f546f849",
     "topics": ["0x19b47279256b2a23a1665c810c8d55a1758940ee09377d4f8d26497a3577dc83",
                "0x…7eded5ce04fd9bb6d125a0a470cc3ffcd972e182",
                "0x…7eded5ce04fd9bb6d125a0a470cc3ffcd972e182"],
     "data": "0x…1fcd5b7dda1ae49c ffff…f22743d8dee163 …a8edeae49c411da42257f71 …",
     "blockNumber": "0x649bc61", "logIndex": "0x149", "removed": false}

One ``Swap`` → a ``Trade`` (amount0/amount1 are the pool's signed changes) and a
``PriceUpdate`` at the pool price after the swap: token0 in token1 =
(sqrtPriceX96 / 2**96)**2 × 10**(decimals0 − decimals1).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from lucent_platform.chains.abi import (
    PANCAKE_V3_SWAP,
    UNISWAP_V3_SWAP,
    ChainDecodeError,
    decode_words,
    topic_address,
)
from lucent_platform.chains.logs import Log
from lucent_platform.chains.registry import pool_at
from lucent_platform.chains.swaps import (
    Context,
    PoolLookup,
    pool_swap_envelope,
    price_envelope,
    trade_envelope,
)
from lucent_platform.envelope import Envelope

_Q192 = 2**192
_V3_TYPES = ["int256", "int256", "uint160", "uint128", "int24"]


@dataclass(frozen=True, slots=True)
class V3Swap:
    """A V3 ``Swap`` in raw units; protocol fees only on PancakeSwap V3 (``None`` otherwise)."""

    sender: str
    recipient: str
    amount0: int
    amount1: int
    sqrt_price_x96: int
    liquidity: int
    tick: int
    protocol_fees_token0: int | None = None
    protocol_fees_token1: int | None = None

    def token1_per_token0(self) -> Fraction | None:
        """The pool price after the swap in raw units; ``None`` for a zero sqrt price."""
        if self.sqrt_price_x96 == 0:
            return None
        return Fraction(self.sqrt_price_x96**2, _Q192)


def decode_swap(log: Log) -> V3Swap:
    """``ChainDecodeError`` unless ``log`` is a Uniswap V3 or PancakeSwap V3 ``Swap``."""
    if len(log.topics) != 3 or log.topics[0] not in (UNISWAP_V3_SWAP, PANCAKE_V3_SWAP):
        raise ChainDecodeError("not a V3 Swap log (topic0 and 3 topics expected)")
    pancake = log.topics[0] == PANCAKE_V3_SWAP
    types = [*_V3_TYPES, "uint128", "uint128"] if pancake else _V3_TYPES
    values = decode_words(types, log.data, "Swap")
    amount0, amount1, sqrt_price_x96, liquidity, tick = values[:5]
    return V3Swap(
        sender=topic_address(log.topics[1]),
        recipient=topic_address(log.topics[2]),
        amount0=amount0,
        amount1=amount1,
        sqrt_price_x96=sqrt_price_x96,
        liquidity=liquidity,
        tick=tick,
        protocol_fees_token0=values[5] if pancake else None,
        protocol_fees_token1=values[6] if pancake else None,
    )


def is_v3_log(log: Log) -> bool:
    """Whether ``log`` is a V3 ``Swap`` (Uniswap or PancakeSwap, by topic0)."""
    return bool(log.topics) and log.topics[0] in (UNISWAP_V3_SWAP, PANCAKE_V3_SWAP)


def envelopes(
    log: Log,
    *,
    received_ms: int,
    block_time_ms: int | None,
    pools: PoolLookup = pool_at,
) -> list[Envelope[Any]]:
    """A ``Trade`` and a ``PriceUpdate`` for one V3 ``Swap`` of a known pool, a ``PoolSwap``
    for an unknown one; ``ChainDecodeError`` for any other log.

    ``pools`` looks the pool's metadata up (default the shipped registry; a ``ChainConnector``
    passes its learnt pools).
    """
    swap = decode_swap(log)
    pool = pools(log.chain, log.address)
    ctx = Context(log, pool, received_ms, block_time_ms)
    if pool is None:
        return [
            pool_swap_envelope(
                ctx,
                "swap",
                amount0=swap.amount0,
                amount1=swap.amount1,
                sqrt_price_x96=swap.sqrt_price_x96,
                liquidity=swap.liquidity,
                tick=swap.tick,
                sender=swap.sender,
                recipient=swap.recipient,
                # only PancakeSwap V3 emits its nine-field Swap; the seven-field one has forks
                dex="pancakeswap-v3" if swap.protocol_fees_token0 is not None else None,
            )
        ]
    return [
        trade_envelope(ctx, pool, swap.amount0, swap.amount1),
        price_envelope(ctx, pool, swap.token1_per_token0()),
    ]
