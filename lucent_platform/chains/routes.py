"""One routing table for every chain log we decode: topic0 → decoder, one common signature.

Each decoder takes a parsed ``Log`` and returns its envelopes (``ChainDecodeError`` when the
topic0 matches but the log does not decode)::

    decoder(log, received_ms=1602193400123, block_time_ms=1602193349000, pools=pool_at)

``pools`` looks a pool's metadata up (the registry, or a connector that learnt pools by
``eth_call``); decoders without pools ignore it. To decode a new event, add its topic0 and
decoder to ``ROUTES`` (the ``eth_getLogs`` filter list ``LOG_TOPICS`` follows), and its
topic0 to ``POOL_TOPICS`` if its envelopes need a pool's tokens.
"""

from __future__ import annotations

from typing import Any, Protocol

from lucent_platform.chains import (
    bridges,
    governance,
    lending,
    liquidations,
    oracles,
    uniswap_v2,
    uniswap_v3,
)
from lucent_platform.chains.abi import (
    PANCAKE_V3_SWAP,
    UNISWAP_V2_SWAP,
    UNISWAP_V2_SYNC,
    UNISWAP_V3_SWAP,
)
from lucent_platform.chains.logs import Log
from lucent_platform.chains.swaps import PoolLookup
from lucent_platform.envelope import Envelope


class Decoder(Protocol):
    """What every route calls: a log → its envelopes (``ChainDecodeError`` if it is bad)."""

    def __call__(
        self, log: Log, *, received_ms: int, block_time_ms: int | None, pools: PoolLookup
    ) -> list[Envelope[Any]]: ...


def _without_pools(decode: Any) -> Decoder:
    """A decoder that needs no pool metadata, under the common signature."""

    def route(
        log: Log, *, received_ms: int, block_time_ms: int | None, pools: PoolLookup
    ) -> list[Envelope[Any]]:
        envelopes: list[Envelope[Any]] = decode(
            log, received_ms=received_ms, block_time_ms=block_time_ms
        )
        return envelopes

    route.__name__ = route.__qualname__ = getattr(decode, "__name__", "route")
    return route


ROUTES: dict[bytes, Decoder] = {
    UNISWAP_V2_SWAP: uniswap_v2.envelopes,
    UNISWAP_V2_SYNC: uniswap_v2.envelopes,
    UNISWAP_V3_SWAP: uniswap_v3.envelopes,
    PANCAKE_V3_SWAP: uniswap_v3.envelopes,
    oracles.ANSWER_UPDATED: _without_pools(oracles.answer_updated_envelopes),
    lending.RESERVE_DATA_UPDATED: _without_pools(lending.reserve_rate_envelopes),
    lending.RESERVE_UPDATED_V1: _without_pools(lending.reserve_rate_envelopes),
    liquidations.LIQUIDATION_CALL: _without_pools(liquidations.liquidation_envelopes),
    liquidations.LIQUIDATION_CALL_V1: _without_pools(liquidations.liquidation_envelopes),
    liquidations.ABSORB_COLLATERAL: _without_pools(liquidations.liquidation_envelopes),
    governance.PROPOSAL_CREATED: _without_pools(governance.governance_envelopes),
    governance.VOTE_CAST: _without_pools(governance.governance_envelopes),
    governance.VOTE_CAST_ALPHA: _without_pools(governance.governance_envelopes),
    **dict.fromkeys(bridges.BRIDGE_TOPICS, bridges.bridge_envelopes),
}
"""topic0 → decoder. Add an event here (and nowhere else) to have the connector decode it."""

POOL_TOPICS = frozenset({UNISWAP_V2_SWAP, UNISWAP_V2_SYNC, UNISWAP_V3_SWAP, PANCAKE_V3_SWAP})
"""topic0 values whose log address is a pool: an unknown one is reported for metadata."""


def log_topics() -> list[str]:
    """Every routed topic0 as ``0x`` hex, for the topic0 position of an ``eth_getLogs`` filter."""
    return ["0x" + topic.hex() for topic in ROUTES]


LOG_TOPICS: tuple[str, ...] = tuple(log_topics())
"""The routed topic0 values at import time (call ``log_topics()`` after extending ROUTES)."""


def route(log: Log) -> Decoder | None:
    """The decoder of ``log`` by its topic0, ``None`` for an event we do not decode."""
    return ROUTES.get(log.topics[0]) if log.topics else None
