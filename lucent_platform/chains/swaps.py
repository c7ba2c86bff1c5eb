"""DEX swaps as payloads: a pool's net token amounts → ``Trade``, a pool price → ``PriceUpdate``.

Shared by the Uniswap V2 family (Uniswap V2, SushiSwap, PancakeSwap V2) and the V3 family
(Uniswap V3, PancakeSwap V3). Amounts are *the pool's* signed changes in raw token units
(positive: the pool received that token), as Uniswap V3 reports them and as V2's in/out
amounts net to. The taker bought the pair's base when the pool's base amount went down.

A pool the registry (or the connector's learnt pools) does not know has no pair and no
decimals, so it gets no ``Trade`` or ``PriceUpdate`` — a made-up ``0.0`` price would be
dead-lettered downstream and would misstate the market. Its log becomes one ``PoolSwap``
(``pool_swap_envelope``) instead, on ``market.swaps.{chain}``: the exact raw amounts (or
reserves), the V3 price state as integers, the addresses, block, transaction and log index,
``price`` empty and the quality flag ``unknown_pool`` saying why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from lucent_platform.chains.logs import Log, wrap_log
from lucent_platform.chains.registry import Pool
from lucent_platform.envelope import Envelope
from lucent_platform.messages import PoolSwap, PriceUpdate, Trade

PoolLookup = Callable[[str, str], Pool | None]
"""(chain, pool address) → the pool's metadata; ``registry.pool_at`` or a connector's own."""

UNKNOWN_POOL_FLAGS = ("unknown_pool",)
"""A ``PoolSwap``'s price is empty because the pool's tokens and decimals are unknown."""
NO_PRICE_FLAG = "no_price"
"""A known pool's swap that moved only one token (a flash-swap repayment): no price."""


@dataclass(frozen=True, slots=True)
class Context:
    """What wrapping needs besides the payload: the log, times, the pool if known."""

    log: Log
    pool: Pool | None
    received_ms: int
    block_time_ms: int | None


def trade_envelope(ctx: Context, pool: Pool, delta0: int, delta1: int) -> Envelope[Any]:
    """A known ``pool``'s ``Trade`` of its net token changes ``delta0``/``delta1`` (raw)."""
    log = ctx.log
    location: dict[str, Any] = {
        "chain": log.chain,
        "block_number": log.block_number,
        "tx_hash": log.tx_hash,
        "log_index": log.log_index,
        "trade_id": f"{log.tx_hash}:{log.log_index}",
    }
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


def price_envelope(ctx: Context, pool: Pool, token1_per_token0: Fraction | None) -> Envelope[Any]:
    """A known ``pool``'s ``PriceUpdate`` from its price of token0 in token1 *in raw units*.

    The pool's decimals turn it into the price of the base in the quote. ``None`` means the
    pool has no price (an empty reserve): ``0.0`` with the flag ``no_price``.
    """
    log = ctx.log
    location: dict[str, Any] = {
        "chain": log.chain,
        "block_number": log.block_number,
        "tx_hash": log.tx_hash,
        "log_index": log.log_index,
    }
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


def pool_swap_envelope(ctx: Context, event: Literal["swap", "sync"], **raw: Any) -> Envelope[Any]:
    """The ``PoolSwap`` of an unknown pool's log: ``raw`` holds its integers (``amount0``,
    ``reserve0``, ``sqrt_price_x96``, …, written as exact decimal text), ``tick`` and the
    ``sender``/``recipient`` addresses; ``price`` stays empty (flag ``unknown_pool``)."""
    log = ctx.log
    fields: dict[str, Any] = {
        name: value if isinstance(value, str) or name == "tick" else str(value)
        for name, value in raw.items()
        if value is not None
    }
    swap = PoolSwap(
        chain=log.chain,
        pool=log.address,
        event=event,
        block_number=log.block_number,
        tx_hash=log.tx_hash,
        log_index=log.log_index,
        **fields,
    )
    return _wrap(swap, ctx, "pool_swap", UNKNOWN_POOL_FLAGS)


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
