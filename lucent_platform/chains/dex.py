"""Which DEX decoder a log goes to: the one entry point a chain worker calls per swap log.

Routing is by topic0 alone (the pool address only picks the registry entry), so a pool we do
not know is still decoded — to a ``PoolSwap`` with its raw amounts and the ``unknown_pool``
flag — rather than dropped.
"""

from __future__ import annotations

from typing import Any

from lucent_platform.chains import uniswap_v2, uniswap_v3
from lucent_platform.chains.abi import (
    PANCAKE_V3_SWAP,
    UNISWAP_V2_SWAP,
    UNISWAP_V2_SYNC,
    UNISWAP_V3_SWAP,
)
from lucent_platform.chains.logs import Log
from lucent_platform.envelope import Envelope

DEX_TOPICS = (UNISWAP_V2_SWAP, UNISWAP_V2_SYNC, UNISWAP_V3_SWAP, PANCAKE_V3_SWAP)
"""topic0 values to ask ``eth_getLogs`` for (one filter position, OR-ed)."""


def dex_envelopes(
    log: Log, *, received_ms: int, block_time_ms: int | None
) -> list[Envelope[Any]] | None:
    """The envelopes of a DEX swap/sync log; ``None`` if its topic0 is no DEX event of ours.

    Raises ``ChainDecodeError`` when the topic0 matches but the log does not decode.
    """
    if uniswap_v2.is_v2_log(log):
        return uniswap_v2.envelopes(log, received_ms=received_ms, block_time_ms=block_time_ms)
    if uniswap_v3.is_v3_log(log):
        return uniswap_v3.envelopes(log, received_ms=received_ms, block_time_ms=block_time_ms)
    return None
