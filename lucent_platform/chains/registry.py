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
        "0x172fcd41e0913e95784454622d1c3724f546f849",
        "bsc",
        "pancakeswap-v3",
        "pancake_v3",
        BSC_USDT,
        WBNB,
        base=1,
        fee_ppm=100,
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


# Oracles, lending markets and governors (checked against public code in the search corpus,
# 2026-11-28: the YFI/ETH aggregator in Aave's own aggregator list, the Aave v3 Ethereum pool
# and the Compound v3 cUSDCv3 Comet in several integrations, RealT's RMM v2 lending pool, an
# Aave v2 fork, on Gnosis).


@dataclass(frozen=True, slots=True)
class Feed:
    """A Chainlink aggregator: its pair and the decimals of its answers."""

    address: str
    chain: str
    pair: str
    decimals: int


@dataclass(frozen=True, slots=True)
class LendingMarket:
    """A lending pool contract; ``base`` is a Compound v3 market's borrowable asset."""

    address: str
    chain: str
    protocol: str
    base: Token | None = None


@dataclass(frozen=True, slots=True)
class Governor:
    """A governor contract and the decimals of its voting token."""

    address: str
    chain: str
    protocol: str
    vote_decimals: int = 18


WXDAI = Token("WXDAI", "0xe91d153e0b41518a2ce8dd3d7944fa863463a97d", 18)
WBTC = Token("WBTC", "0x2260fac5e5542a773aa44fbcfedf7c193bc2c599", 8)
BAT = Token("BAT", "0x0d8775f648430679a709e98d2b0cb6250d2887ef", 18)
YFI = Token("YFI", "0x0bc529c00c6401aef6d220be8c6ea1667f6ad93e", 18)
ETH = Token("ETH", "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", 18)
"""Aave v1's pseudo-address for native ether."""

FEEDS: tuple[Feed, ...] = (
    Feed("0x4a03707a1bfefc2836a69b1a6a6bd752270041a9", "ethereum", "YFI-ETH", 18),
)
LENDING_MARKETS: tuple[LendingMarket, ...] = (
    LendingMarket("0x398ec7346dcd622edc5ae82352f02be94c62d119", "ethereum", "aave-v1"),
    LendingMarket("0x3dfd23a6c5e8bbcfc9581d2e864a68feb6a076d3", "ethereum", "aave-v1"),  # core
    LendingMarket("0x87870bca3f3fd6335c3f4ce8392d69350b4fa4e2", "ethereum", "aave-v3"),
    LendingMarket("0x5b8d36de471880ee21936f328aab2383a280cb2a", "gnosis", "realt-rmm-v2"),
    LendingMarket("0xc3d688b66703497daa19211eedff47f25384cdc3", "ethereum", "compound-v3", USDC),
)
GOVERNORS: tuple[Governor, ...] = (
    Governor("0xc0da02939e1441f497fd74f78ce7decb17b66529", "ethereum", "compound"),
    Governor("0xc0da01a04c3f3e0be433606045bb7017a7323e38", "ethereum", "compound"),  # Alpha
)
_TOKENS = {
    ("ethereum", t.address): t for t in (WETH, USDC, USDT, DAI, SUSHI, WBTC, BAT, YFI, ETH)
} | {("gnosis", WXDAI.address): WXDAI}
_FEEDS = {(f.chain, f.address): f for f in FEEDS}
_MARKETS = {(m.chain, m.address): m for m in LENDING_MARKETS}
_GOVERNORS = {(g.chain, g.address): g for g in GOVERNORS}


def token_at(chain: str, address: str) -> Token | None:
    return _TOKENS.get((chain, address.lower()))


def feed_at(chain: str, address: str) -> Feed | None:
    return _FEEDS.get((chain, address.lower()))


def market_at(chain: str, address: str) -> LendingMarket | None:
    return _MARKETS.get((chain, address.lower()))


def governor_at(chain: str, address: str) -> Governor | None:
    return _GOVERNORS.get((chain, address.lower()))
