"""Well-known AMM factories: a pool's ``factory()`` answer → which DEX and ABI family it is.

The live poller asks an unknown pool for ``factory()``; this map names the venue (the
``exchange`` of the payloads). Addresses are lower-case, checked against public deployment
lists and code in the search corpus (2026-11-28): Uniswap V2 ``0x5c69…aa6f`` (Ethereum),
Uniswap V3 ``0x1f98…f984`` (Ethereum, Arbitrum, Optimism, Polygon; Base ``0x3312…fdfd``, BSC
``0xdb1d…61f7``), SushiSwap ``0xc0ae…f2ac`` (Ethereum) and ``0xc35d…74c4`` (Arbitrum, Polygon,
BSC), PancakeSwap V2 ``0xca14…0c73`` (BSC) and V3 ``0x0bfb…1865`` (BSC, Ethereum, Arbitrum,
Base). A factory not listed here gives the DEX name ``{family}-fork`` (``uniswap-v2-fork``).
"""

from __future__ import annotations

from typing import Literal

Family = Literal["uniswap_v2", "uniswap_v3", "pancake_v3"]

_UNISWAP_V2 = "0x5c69bee701ef814a2b6a3edd4b1652cb9cc5aa6f"
_UNISWAP_V3 = "0x1f98431c8ad98523631ae4a59f267346ea31f984"
_SUSHI_V2 = "0xc35dadb65012ec5796536bd9864ed8773abc74c4"
_PANCAKE_V3 = "0x0bfbcf9fa4f9c56b0f40a671ad40e0805a091865"

FACTORIES: dict[tuple[str, str], tuple[str, Family]] = {
    ("ethereum", _UNISWAP_V2): ("uniswap-v2", "uniswap_v2"),
    ("ethereum", _UNISWAP_V3): ("uniswap-v3", "uniswap_v3"),
    ("arbitrum", _UNISWAP_V3): ("uniswap-v3", "uniswap_v3"),
    ("optimism", _UNISWAP_V3): ("uniswap-v3", "uniswap_v3"),
    ("polygon", _UNISWAP_V3): ("uniswap-v3", "uniswap_v3"),
    ("base", "0x33128a8fc17869897dce68ed026d694621f6fdfd"): ("uniswap-v3", "uniswap_v3"),
    ("bsc", "0xdb1d10011ad0ff90774d0c6bb92e5c5c8b4461f7"): ("uniswap-v3", "uniswap_v3"),
    ("ethereum", "0xc0aee478e3658e2610c5f7a4a2e1777ce9e4f2ac"): ("sushiswap", "uniswap_v2"),
    ("arbitrum", _SUSHI_V2): ("sushiswap", "uniswap_v2"),
    ("polygon", _SUSHI_V2): ("sushiswap", "uniswap_v2"),
    ("bsc", _SUSHI_V2): ("sushiswap", "uniswap_v2"),
    ("bsc", "0xca143ce32fe78f1f7019d7d551a6402fc5350c73"): ("pancakeswap-v2", "uniswap_v2"),
    ("bsc", _PANCAKE_V3): ("pancakeswap-v3", "pancake_v3"),
    ("ethereum", _PANCAKE_V3): ("pancakeswap-v3", "pancake_v3"),
    ("arbitrum", _PANCAKE_V3): ("pancakeswap-v3", "pancake_v3"),
    ("base", _PANCAKE_V3): ("pancakeswap-v3", "pancake_v3"),
}


def dex_of(chain: str, factory: str, family: Family) -> tuple[str, Family]:
    """(DEX name, ABI family) of a pool made by ``factory``; unknown factories: a fork."""
    known = FACTORIES.get((chain, factory.lower()))
    if known is not None:
        return known
    return f"{family.replace('_', '-')}-fork", family
