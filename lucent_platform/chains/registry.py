"""Shipped metadata of well-known pools: which tokens, their decimals, protocol and chain.

A pool's ``token0``/``token1`` are in the pool contract's order (the lower address first, as
the Uniswap V2/V3 factories sort them). Addresses are lower-case hex. The pair name puts the
volatile asset first as our feeds do (``WETH-USDC``, ``WBNB-BUSD``): ``base`` says which token
that is. Addresses were checked against public code in the search corpus (2026-11-28): e.g.
Uniswap V2 USDC/WETH ``0xb4e1…c9dc``, V3 USDC/WETH 0.05 % ``0x88e6…5640``, SushiSwap USDC/WETH
``0x397f…aca0``, PancakeSwap WBNB/BUSD ``0x58f8…dc16``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Token:
    symbol: str
    address: str
    decimals: int


@dataclass(frozen=True, slots=True)
class Pool:
    """A pool: its venue id (``exchange`` of the payloads), ABI family and tokens."""

    address: str
    chain: str
    dex: str
    abi: Literal["uniswap_v2", "uniswap_v3", "pancake_v3"]
    token0: Token
    token1: Token
    base: Literal[0, 1]
    fee_ppm: int | None = None

    @property
    def pair(self) -> str:
        base, quote = (self.token0, self.token1) if self.base == 0 else (self.token1, self.token0)
        return f"{base.symbol}-{quote.symbol}"


WETH = Token("WETH", "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", 18)
USDC = Token("USDC", "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", 6)
USDT = Token("USDT", "0xdac17f958d2ee523a2206206994597c13d831ec7", 6)
DAI = Token("DAI", "0x6b175474e89094c44da98b954eedeac495271d0f", 18)
SUSHI = Token("SUSHI", "0x6b3595068778dd592e39a122f4f5a5cf09c90fe2", 18)
WBNB = Token("WBNB", "0xbb4cdb9cbd36b01bd1cbaebf2de08d9173bc095c", 18)
BUSD = Token("BUSD", "0xe9e7cea3dedca5984780bafc599bd69add087d56", 18)
BSC_USDT = Token("USDT", "0x55d398326f99059ff775485246999027b3197955", 18)

POOLS: tuple[Pool, ...] = (
    Pool(
        "0xb4e16d0168e52d35cacd2c6185b44281ec28c9dc",
        "ethereum",
        "uniswap-v2",
        "uniswap_v2",
        USDC,
        WETH,
        base=1,
    ),
    Pool(
        "0x0d4a11d5eeaac28ec3f61d100daf4d40471f1852",
        "ethereum",
        "uniswap-v2",
        "uniswap_v2",
        WETH,
        USDT,
        base=0,
    ),
    Pool(
        "0xa478c2975ab1ea89e8196811f51a7b7ade33eb11",
        "ethereum",
        "uniswap-v2",
        "uniswap_v2",
        DAI,
        WETH,
        base=1,
    ),
    Pool(
        "0x88e6a0c2ddd26feeb64f039a2c41296fcb3f5640",
        "ethereum",
        "uniswap-v3",
        "uniswap_v3",
        USDC,
        WETH,
        base=1,
        fee_ppm=500,
    ),
    Pool(
        "0x8ad599c3a0ff1de082011efddc58f1908eb6e6d8",
        "ethereum",
        "uniswap-v3",
        "uniswap_v3",
        USDC,
        WETH,
        base=1,
        fee_ppm=3000,
    ),
    Pool(
        "0x397ff1542f962076d0bfe58ea045ffa2d347aca0",
        "ethereum",
        "sushiswap",
        "uniswap_v2",
        USDC,
        WETH,
        base=1,
    ),
    Pool(
        "0x795065dcc9f64b5614c407a6efdc400da6221fb0",
        "ethereum",
        "sushiswap",
        "uniswap_v2",
        SUSHI,
        WETH,
        base=0,
    ),
    Pool(
        "0x58f876857a02d6762e0101bb5c46a8c1ed44dc16",
        "bsc",
        "pancakeswap-v2",
        "uniswap_v2",
        WBNB,
        BUSD,
        base=0,
    ),
    Pool(
        "0x16b9a82891338f9ba80e2d6970fdda79d1eb0dae",
        "bsc",
        "pancakeswap-v2",
        "uniswap_v2",
        BSC_USDT,
        WBNB,
        base=1,
    ),
)

_BY_KEY = {(pool.chain, pool.address): pool for pool in POOLS}


def pool_at(chain: str, address: str) -> Pool | None:
    """The shipped pool at ``address`` on ``chain``, ``None`` if we do not know it."""
    return _BY_KEY.get((chain, address.lower()))
