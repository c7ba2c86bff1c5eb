"""Event signatures, their topic0 hashes, and ABI decoding of a log's topics and data.

Topic hashes are computed with keccak from the signatures (not copied as constants), so a typo
in a signature shows up as a decoder that never matches, caught by the recorded-log tests.
Every decoding failure is a ``ChainDecodeError``, so a worker can dead-letter the log with its
reason and go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak


class ChainDecodeError(ValueError):
    """A log object, its topics or its ABI data are not what the event says; ``reason`` why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def event_topic(signature: str) -> bytes:
    """topic0 of an event: keccak-256 of its canonical signature, ``Sync(uint112,uint112)``."""
    return keccak(text=signature)


UNISWAP_V2_SWAP = event_topic("Swap(address,uint256,uint256,uint256,uint256,address)")
UNISWAP_V2_SYNC = event_topic("Sync(uint112,uint112)")
UNISWAP_V3_SWAP = event_topic("Swap(address,address,int256,int256,uint160,uint128,int24)")
PANCAKE_V3_SWAP = event_topic(
    "Swap(address,address,int256,int256,uint160,uint128,int24,uint128,uint128)"
)
"""PancakeSwap V3's Swap adds ``protocolFeesToken0``/``protocolFeesToken1`` (uint128 each)."""


def decode_words(types: Sequence[str], data: bytes, what: str) -> tuple[Any, ...]:
    """ABI-decode ``data`` holding exactly the static values ``types`` (one 32-byte word each).

    ``what`` names the event or call in the error. Exact length is required: trailing bytes mean
    the log is another event with the same topic0 shape, not ours.
    """
    if len(data) != 32 * len(types):
        raise ChainDecodeError(f"{what}: expected {32 * len(types)} data bytes, got {len(data)}")
    try:
        return tuple(abi_decode(list(types), data, strict=True))
    except Exception as exc:  # eth-abi raises several unrelated types for bad words
        raise ChainDecodeError(f"{what}: bad ABI data: {exc}") from None


def topic_int(topic: bytes, *, signed: bool = False) -> int:
    """An indexed integer topic (two's complement when ``signed``)."""
    if len(topic) != 32:
        raise ChainDecodeError(f"a topic is 32 bytes, got {len(topic)}")
    return int.from_bytes(topic, "big", signed=signed)


def topic_address(topic: bytes) -> str:
    """An indexed address topic as lower-case ``0x`` hex; its 12 padding bytes must be zero."""
    if len(topic) != 32 or any(topic[:12]):
        raise ChainDecodeError(f"not an address topic: 0x{topic.hex()}")
    return "0x" + topic[12:].hex()
