"""DEX swaps as payloads: a pool's net token amounts → ``Trade``, a pool price → ``PriceUpdate``.

Shared by the Uniswap V2 family (Uniswap V2, SushiSwap, PancakeSwap V2) and the V3 family
(Uniswap V3, PancakeSwap V3). Amounts are *the pool's* signed changes in raw token units
(positive: the pool received that token), as Uniswap V3 reports them and as V2's in/out
amounts net to. The taker bought the pair's base when the pool's base amount went down.

For a pool the registry does not know, the payloads keep the decoded raw values and leave
prices empty: ``exchange`` ``unknown``, ``pair`` the pool address, ``price`` ``0.0``, the
``Trade``'s ``amount`` the raw token0 amount and its ``side`` the taker's side in token0, with
the quality flags ``unknown_pool`` and ``raw_amounts``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from lucent_platform.chains.logs import Log, wrap_log
from lucent_platform.chains.registry import Pool
from lucent_platform.envelope import Envelope
from lucent_platform.messages import PriceUpdate, Trade

PoolLookup = Callable[[str, str], Pool | None]
"""(chain, pool address) → the pool's metadata; ``registry.pool_at`` or a connector's own."""

UNKNOWN_POOL_FLAGS = ("unknown_pool", "raw_amounts")
NO_PRICE_FLAG = "no_price"
"""A known pool's swap that moved only one token (a flash-swap repayment): no price."""


@dataclass(frozen=True, slots=True)
class Context:
    """What wrapping needs besides the payload: the log, times, the pool if known."""

    log: Log
    pool: Pool | None
    received_ms: int
    block_time_ms: int | None


def trade_envelope(ctx: Context, delta0: int, delta1: int) -> Envelope[Any]:
    """A ``Trade`` of the pool's net token changes ``delta0``/``delta1`` (raw units)."""
    log, pool = ctx.log, ctx.pool
    location: dict[str, Any] = {
        "chain": log.chain,
        "block_number": log.block_number,
        "tx_hash": log.tx_hash,
        "log_index": log.log_index,
        "trade_id": f"{log.tx_hash}:{log.log_index}",
    }
    if pool is None:
        trade = Trade(
            exchange="unknown",
            pair=log.address,
            price=0.0,
            amount=float(abs(delta0)),
            side=_taker_side(delta0),
            **location,
        )
        return _wrap(trade, ctx, "trade", UNKNOWN_POOL_FLAGS)
    base, quote = _base_quote(pool, delta0, delta1)
    base_units = Fraction(abs(base[0]), 10 ** base[1])
    quote_units = Fraction(abs(quote[0]), 10 ** quote[1])
    priced = base[0] != 0 and quote[0] != 0 and (base[0] > 0) != (quote[0] > 0)
    trade = Trade(
        exchange=pool.dex,
        pair=pool.pair,
        price=float(quote_units / base_units) if priced else 0.0,
        amount=float(base_units),
        side=_taker_side(base[0]),
        **location,
    )
    return _wrap(trade, ctx, "trade", () if priced else (NO_PRICE_FLAG,))


def price_envelope(ctx: Context, token1_per_token0: Fraction | None) -> Envelope[Any]:
    """A ``PriceUpdate`` from the pool's price of token0 in token1 *in raw units*.

    The registry's decimals turn it into the price of the base in the quote; without a known
    pool the price stays empty (``0.0``, flagged). ``None`` means the pool has no price (an
    empty reserve).
    """
    log, pool = ctx.log, ctx.pool
    location: dict[str, Any] = {
        "chain": log.chain,
        "block_number": log.block_number,
        "tx_hash": log.tx_hash,
        "log_index": log.log_index,
    }
    if pool is None:
        update = PriceUpdate(exchange="unknown", pair=log.address, price=0.0, **location)
        return _wrap(update, ctx, "price", UNKNOWN_POOL_FLAGS)
    price = None
    if token1_per_token0 is not None and token1_per_token0 != 0:
        scaled = token1_per_token0 * Fraction(10) ** (pool.token0.decimals - pool.token1.decimals)
        price = scaled if pool.base == 0 else 1 / scaled
    update = PriceUpdate(
        exchange=pool.dex,
        pair=pool.pair,
        price=0.0 if price is None else float(price),
        **location,
    )
    return _wrap(update, ctx, "price", () if price is not None else (NO_PRICE_FLAG,))


def _base_quote(pool: Pool, delta0: int, delta1: int) -> tuple[tuple[int, int], tuple[int, int]]:
    token0 = (delta0, pool.token0.decimals)
    token1 = (delta1, pool.token1.decimals)
    return (token0, token1) if pool.base == 0 else (token1, token0)


def _taker_side(pool_base_delta: int) -> Literal["buy", "sell"] | None:
    # The pool lost base: the taker bought it.
    if pool_base_delta < 0:
        return "buy"
    if pool_base_delta > 0:
        return "sell"
    return None


def _wrap(data: Any, ctx: Context, key: str, flags: tuple[str, ...]) -> Envelope[Any]:
    return wrap_log(
        data,
        ctx.log,
        key=key,
        received_ms=ctx.received_ms,
        block_time_ms=ctx.block_time_ms,
        quality_flags=flags,
    )
