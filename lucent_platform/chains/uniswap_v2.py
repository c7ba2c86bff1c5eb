"""Uniswap V2 pair logs ``Swap`` and ``Sync`` (SushiSwap and PancakeSwap V2 share the ABI).

A recorded ``Swap`` of the USDC/WETH pair, block 11017338 (2020-10-08), log index 0x29 (data
shortened: four uint256 words amount0In, amount1In, amount0Out, amount1Out)::

    {"address": "0xb4e16d0168e52d35cacd2c6185b44281ec28c9dc",
     "topics": ["0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822",
                "0x…7a250d5630b4cf539739df2c5dacb4c659f2488d",   # sender (router)
                "0x…<recipient>"],
     "data": "0x<amount0In><amount1In><amount0Out><amount1Out>",
     "blockNumber": "0xa81c7a", "transactionHash": "0x…", "logIndex": "0x…", "removed": false}

``Swap`` → a ``Trade`` (taker side and base amount from the net in/out amounts, price = quote
paid / base received, fee included); ``Sync`` (the reserves after every swap, mint and burn)
→ a ``PriceUpdate`` at reserve1/reserve0, the pool's marginal price. A pool we do not know
gives a ``PoolSwap`` instead (net amounts or reserves, raw).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from lucent_platform.chains.abi import (
    UNISWAP_V2_SWAP,
    UNISWAP_V2_SYNC,
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


@dataclass(frozen=True, slots=True)
class V2Swap:
    """A V2 ``Swap`` in raw token units."""

    sender: str
    to: str
    amount0_in: int
    amount1_in: int
    amount0_out: int
    amount1_out: int

    @property
    def pool_delta0(self) -> int:
        return self.amount0_in - self.amount0_out

    @property
    def pool_delta1(self) -> int:
        return self.amount1_in - self.amount1_out


@dataclass(frozen=True, slots=True)
class V2Sync:
    """A V2 ``Sync``: the pair's reserves in raw token units."""

    reserve0: int
    reserve1: int

    def token1_per_token0(self) -> Fraction | None:
        """The marginal price in raw units, ``None`` while a reserve is empty."""
        if self.reserve0 == 0 or self.reserve1 == 0:
            return None
        return Fraction(self.reserve1, self.reserve0)


def decode_swap(log: Log) -> V2Swap:
    """``ChainDecodeError`` unless ``log`` is a V2 ``Swap``."""
    if len(log.topics) != 3 or log.topics[0] != UNISWAP_V2_SWAP:
        raise ChainDecodeError("not a Uniswap V2 Swap log (topic0 and 3 topics expected)")
    a0_in, a1_in, a0_out, a1_out = decode_words(["uint256"] * 4, log.data, "Swap")
    return V2Swap(
        sender=topic_address(log.topics[1]),
        to=topic_address(log.topics[2]),
        amount0_in=a0_in,
        amount1_in=a1_in,
        amount0_out=a0_out,
        amount1_out=a1_out,
    )


def decode_sync(log: Log) -> V2Sync:
    """``ChainDecodeError`` unless ``log`` is a V2 ``Sync``."""
    if len(log.topics) != 1 or log.topics[0] != UNISWAP_V2_SYNC:
        raise ChainDecodeError("not a Uniswap V2 Sync log (topic0 only expected)")
    reserve0, reserve1 = decode_words(["uint112", "uint112"], log.data, "Sync")
    return V2Sync(reserve0=reserve0, reserve1=reserve1)


def is_v2_log(log: Log) -> bool:
    """Whether ``log`` is a V2 pair's ``Swap`` or ``Sync`` (by topic0)."""
    return bool(log.topics) and log.topics[0] in (UNISWAP_V2_SWAP, UNISWAP_V2_SYNC)


def envelopes(
    log: Log,
    *,
    received_ms: int,
    block_time_ms: int | None,
    pools: PoolLookup = pool_at,
) -> list[Envelope[Any]]:
    """The payloads of one V2 ``Swap`` (a ``Trade``) or ``Sync`` (a ``PriceUpdate``) log.

    Raises ``ChainDecodeError`` for any other log or bad data. ``pools`` looks the pool's
    metadata up (default the shipped registry; a ``ChainConnector`` passes its learnt pools).
    """
    pool = pools(log.chain, log.address)
    ctx = Context(log, pool, received_ms, block_time_ms)
    if log.topics and log.topics[0] == UNISWAP_V2_SYNC:
        sync = decode_sync(log)
        if pool is None:
            return [pool_swap_envelope(ctx, "sync", reserve0=sync.reserve0, reserve1=sync.reserve1)]
        return [price_envelope(ctx, pool, sync.token1_per_token0())]
    swap = decode_swap(log)
    if pool is None:
        return [
            pool_swap_envelope(
                ctx,
                "swap",
                amount0=swap.pool_delta0,
                amount1=swap.pool_delta1,
                sender=swap.sender,
                recipient=swap.to,
            )
        ]
    return [trade_envelope(ctx, pool, swap.pool_delta0, swap.pool_delta1)]
