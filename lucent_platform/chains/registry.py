"""Shipped metadata of well-known pools: which tokens, their decimals, protocol and chain.

A pool's ``token0``/``token1`` are in the pool contract's order (the lower address first, as
the Uniswap V2/V3 factories sort them). Addresses are lower-case hex. The pair name puts the
volatile asset first as our feeds do (``WETH-USDC``, ``WBNB-BUSD``): ``base`` says which token
that is. Addresses were checked against public code in the search corpus (2026-11-28): e.g.
Uniswap V2 USDC/WETH ``0xb4e1…c9dc``, V3 USDC/WETH 0.05 % ``0x88e6…5640``, SushiSwap USDC/WETH
``0x397f…aca0``, PancakeSwap WBNB/BUSD ``0x58f8…dc16``.

L2s (Arbitrum, OP Mainnet, Base; names from ``logs.CHAIN_NAMES``) have their main Uniswap V3
WETH/USDC 0.05 % pools (venue ``uniswap-v3-{chain}``), Camelot's WETH/ARB pair, Chainlink
feeds, Aave v3 Pools and Compound v3 USDC Comets; the comments by each group say where the
addresses were checked. A token is looked up per chain: WETH is ``0x4200…0006`` on OP and
Base but ``0x82af…bab1`` on Arbitrum.
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

_L1_POOLS: tuple[Pool, ...] = (  # Ethereum and BNB Chain
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

# L2s (Arbitrum One 42161, OP Mainnet 10, Base 8453): tokens and the main pools. A venue id
# names its chain (``uniswap-v3-arbitrum``), so each chain's pool gets its own raw topics and
# venue instead of mixing with Ethereum's ``uniswap-v3`` quotes of the same pair. Sources
# (search corpus, 2026-11-29): token addresses and decimals in Compound's market overview
# (woof-software/compound-docs-aggregator: Arbitrum WETH, WBTC, ARB, native USDC), pool lists
# giving each pool's chain id, token0/token1 and fee (e.g. a ``PoolDeployment`` of
# ``arbitrum-weth-usdc-500`` with its Blockscout source; ``UNISWAP_V3_NATIVE_USDC_500_DICT``
# for Base and OP; a ``PoolMetadata`` of the Base pool with decimals 18/6), and for Camelot's
# WETH/ARB pair the recorded Arbitrum receipt under tests/fixtures/chain/arbitrum-rpc/ (WETH
# flows into it, ARB out of it) beside a bootstrap pool list naming it ``camelot`` WETH/ARB.
ARB_WETH = Token("WETH", "0x82af49447d8a07e3bd95bd0d56f35241523fbab1", 18)
ARB_USDC = Token("USDC", "0xaf88d065e77c8cc2239327c5edb3a432268e5831", 6)  # native, not USDC.e
ARB_WBTC = Token("WBTC", "0x2f2a2543b76a4166549f7aab2e75bef0aefc5b0f", 8)
ARB_ARB = Token("ARB", "0x912ce59144191c1204e64559fe8253a0e49e6548", 18)
OP_WETH = Token("WETH", "0x4200000000000000000000000000000000000006", 18)  # OP Stack predeploy
OP_USDC = Token("USDC", "0x0b2c639c533813f4aa9d7837caf62653d097ff85", 6)  # native, not USDC.e
BASE_WETH = Token("WETH", "0x4200000000000000000000000000000000000006", 18)
BASE_USDC = Token("USDC", "0x833589fcd6edb6e08f4c7c32d4f71b54bda02913", 6)
BASE_USDBC = Token("USDbC", "0xd9aaec86b65d86f6a7b5b1b0c42ffa531710b6ca", 6)  # bridged USDC

L2_POOLS: tuple[Pool, ...] = (
    Pool(
        "0xc6962004f452be9203591991d15f6b388e09e8d0",
        "arbitrum",
        "uniswap-v3-arbitrum",
        "uniswap_v3",
        ARB_WETH,
        ARB_USDC,
        base=0,
        fee_ppm=500,
    ),
    Pool(
        "0xa6c5c7d189fa4eb5af8ba34e63dcdd3a635d433f",
        "arbitrum",
        "camelot",
        "uniswap_v2",  # Camelot's pairs emit Uniswap V2's Swap and Sync
        ARB_WETH,
        ARB_ARB,
        base=1,
    ),
    Pool(
        "0x1fb3cf6e48f1e7b10213e7b6d87d4c073c7fdb7b",
        "optimism",
        "uniswap-v3-optimism",
        "uniswap_v3",
        OP_USDC,  # 0x0b2c… sorts before 0x4200…
        OP_WETH,
        base=1,
        fee_ppm=500,
    ),
    Pool(
        "0xd0b53d9277642d899df5c87a3966a349a798f224",
        "base",
        "uniswap-v3-base",
        "uniswap_v3",
        BASE_WETH,
        BASE_USDC,
        base=0,
        fee_ppm=500,
    ),
)

POOLS = _L1_POOLS + L2_POOLS
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
    # L2 Chainlink feeds (8 decimals). Arbitrum's ETH/USD OCR aggregator (it emits
    # AnswerUpdated; several feed maps and an audit report linking its Arbiscan page) and its
    # proxy (Compound's Arbitrum WETH price feed, Wallet3's oracle list), which answers
    # latestRoundData. OP Mainnet's CRV/USD aggregator (proxy 0xbd92…51d9 and aggregator
    # 0x7c56…264c side by side in a Chainlink OP oracle list; credmark's OP feed map gives
    # 0x7c56… for CRV; its AnswerUpdated is recorded in tests/fixtures/chain/optimism-rpc/);
    # OP's and Base's ETH/USD proxies (Wallet3's OP oracles, a Base test's ETH_USD_FEED).
    # Proxies emit no AnswerUpdated: the underlying aggregators change when Chainlink
    # upgrades a feed and are not pinned here (read ``aggregator()`` from the proxy when live).
    Feed("0x3607e46698d218b3a5cae44bf381475c0a5e2ca7", "arbitrum", "ETH-USD", 8),
    Feed("0x639fe6ab55c921f74e7fac1ee960c0b6293ba612", "arbitrum", "ETH-USD", 8),  # proxy
    Feed("0x7c56d3650f9acd992b3aa635c04a311c54ad264c", "optimism", "CRV-USD", 8),
    Feed("0x13e3ee699d1909e989722e753853ae30b17e08c5", "optimism", "ETH-USD", 8),  # proxy
    Feed("0x71041dddad3595f9ced3dccfbe3d1f4b0a16bb70", "base", "ETH-USD", 8),  # proxy
)
LENDING_MARKETS: tuple[LendingMarket, ...] = (
    LendingMarket("0x398ec7346dcd622edc5ae82352f02be94c62d119", "ethereum", "aave-v1"),
    LendingMarket("0x3dfd23a6c5e8bbcfc9581d2e864a68feb6a076d3", "ethereum", "aave-v1"),  # core
    LendingMarket("0x87870bca3f3fd6335c3f4ce8392d69350b4fa4e2", "ethereum", "aave-v3"),
    LendingMarket("0x5b8d36de471880ee21936f328aab2383a280cb2a", "gnosis", "realt-rmm-v2"),
    LendingMarket("0xc3d688b66703497daa19211eedff47f25384cdc3", "ethereum", "compound-v3", USDC),
    # Aave v3 Pools: one address on Arbitrum and OP (bgd-labs' address book ``AaveV3Optimism``
    # ``POOL``, an Aave GraphQL market ``AaveV3Arbitrum``, multi-chain pool tables), Base's own
    # (Centic's aave_v3_base, MetaMask's test dapp for chain 8453, RSS3 Node's recorded Base
    # supply); Compound v3 USDC Comets with their native USDC base (Compound's market
    # overview, comet-rewards configs, per-chain Comet maps).
    LendingMarket("0x794a61358d6845594f94dc1db02a252b5b4814ad", "arbitrum", "aave-v3"),
    LendingMarket("0x794a61358d6845594f94dc1db02a252b5b4814ad", "optimism", "aave-v3"),
    LendingMarket("0xa238dd80c259a72e81d7e4664a9801593f98d1c5", "base", "aave-v3"),
    LendingMarket(
        "0x9c4ec768c28520b50860ea7a15bd7213a9ff58bf", "arbitrum", "compound-v3", ARB_USDC
    ),
    LendingMarket("0x2e44e174f7d53f0212823acc11c01a11d58c5bcb", "optimism", "compound-v3", OP_USDC),
    LendingMarket("0xb125e6687d4313864e53df431d5425969c15eb2f", "base", "compound-v3", BASE_USDC),
)
GOVERNORS: tuple[Governor, ...] = (
    Governor("0xc0da02939e1441f497fd74f78ce7decb17b66529", "ethereum", "compound"),
    Governor("0xc0da01a04c3f3e0be433606045bb7017a7323e38", "ethereum", "compound"),  # Alpha
)
_TOKENS = (
    {("ethereum", t.address): t for t in (WETH, USDC, USDT, DAI, SUSHI, WBTC, BAT, YFI, ETH)}
    | {("gnosis", WXDAI.address): WXDAI}
    | {("arbitrum", t.address): t for t in (ARB_WETH, ARB_USDC, ARB_WBTC, ARB_ARB)}
    | {("optimism", t.address): t for t in (OP_WETH, OP_USDC)}
    | {("base", t.address): t for t in (BASE_WETH, BASE_USDC, BASE_USDBC)}
)
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
