"""Log objects as ``eth_getLogs`` returns them, and how decoded logs become envelopes.

A log object (hex strings, as in the recorded Uniswap V2 ``Sync`` of block 11017338)::

    {"address": "0xb4e16d0168e52d35cacd2c6185b44281ec28c9dc",
     "topics": ["0x1c411e9a96e071241c2f21f7726b17ae89e3cab4c78be50e062b03a9fffbbad1"],
     "data": "0x…", "blockNumber": "0xa81c7a", "transactionHash": "0x…",
     "transactionIndex": "0x1", "blockHash": "0x…", "logIndex": "0x3", "removed": false}

Decisions every chain decoder follows (one way for all sources):

- **Location in ``data``**: the payload's flat optional fields ``chain`` (lower-case name,
  ``ethereum``), ``blockNumber``, ``txHash`` and ``logIndex`` — the fields ``Liquidation``
  already had; ``PriceUpdate`` and ``Trade`` gained the same optional fields.
- **Source**: ``header.source`` is ``"{chain}-rpc"`` (``ethereum-rpc``).
- **Message id**: ``message_id_for(chain, txHash, logIndex, messageType, key)``, so a replay of
  the same log gives the same id.
- **Reorgs**: a log with ``removed: true`` decodes to the same payloads with the *same message
  id* and the quality flag ``retracted`` (grade ``low``): a consumer that keyed the original by
  id drops it. No separate message kind is needed.
- **Event time**: logs carry no time; the caller passes the block's timestamp (``block_time_ms``)
  or, without it, the receive time is used and ``no_event_time`` says so.
- **Unknown pools**: an envelope still leaves with raw amounts and addresses and the quality
  flag ``unknown_pool`` (grade ``low``): a DEX pool's log becomes a ``PoolSwap`` (exact raw
  integers, ``price`` empty) rather than a ``Trade``/``PriceUpdate`` with a made-up price.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lucent_platform.chains.abi import ChainDecodeError
from lucent_platform.envelope import (
    CHAIN_SOURCE_SUFFIX,
    RETRACTED,
    Envelope,
    message_id_for,
    new_envelope,
)
from lucent_platform.messages import MessageData

CHAIN_NAMES = {
    1: "ethereum",
    10: "optimism",
    56: "bsc",
    100: "gnosis",
    137: "polygon",
    8453: "base",
    42161: "arbitrum",
}
"""EIP-155 chain ids of the chains we name; ``chain`` fields carry the name."""

CONFIDENCE = {"high": 1.0, "medium": 0.8, "low": 0.5}
_RANK = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True, slots=True)
class Log:
    """One parsed log: addresses and hashes as lower-case ``0x`` hex, numbers as ints."""

    chain: str
    address: str
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    tx_hash: str
    log_index: int
    block_hash: str | None = None
    tx_index: int | None = None
    removed: bool = False


def parse_log(obj: Mapping[str, Any], *, chain_id: int) -> Log:
    """A log object exactly as ``eth_getLogs`` returns it → ``Log``; ``ChainDecodeError`` if bad.

    Pending logs (``blockNumber``/``logIndex`` null) are rejected: a decoder only sees mined logs.
    """
    if not isinstance(obj, Mapping):
        raise ChainDecodeError(f"a log object is a JSON object, got {type(obj).__name__}")
    chain = CHAIN_NAMES.get(chain_id, str(chain_id))
    topics = obj.get("topics")
    if not isinstance(topics, list) or len(topics) > 4:
        raise ChainDecodeError("topics must be a list of at most 4 hashes")
    parsed_topics = tuple(_hex_bytes(t, "topics[]", size=32) for t in topics)
    return Log(
        chain=chain,
        address=_hex_text(obj.get("address"), "address", size=20),
        topics=parsed_topics,
        data=_hex_bytes(obj.get("data"), "data"),
        block_number=_quantity(obj.get("blockNumber"), "blockNumber"),
        tx_hash=_hex_text(obj.get("transactionHash"), "transactionHash", size=32),
        log_index=_quantity(obj.get("logIndex"), "logIndex"),
        block_hash=_optional(obj, "blockHash", lambda v: _hex_text(v, "blockHash", size=32)),
        tx_index=_optional(obj, "transactionIndex", lambda v: _quantity(v, "transactionIndex")),
        removed=_removed(obj.get("removed", False)),
    )


def wrap_log(
    data: MessageData,
    log: Log,
    *,
    key: str,
    received_ms: int,
    block_time_ms: int | None,
    quality_flags: tuple[str, ...] = (),
) -> Envelope[Any]:
    """One envelope of a decoded log's payload, by the rules in this module's docstring.

    ``key`` tells payloads of one log apart (``"price"``, ``"trade"``); ``quality_flags`` are
    the decoder's own (``unknown_pool``), each lowering the grade to ``low``.
    """
    flags = list(quality_flags)
    grade = "low" if flags else "high"
    if log.removed:
        flags.append(RETRACTED)
        grade = "low"
    if block_time_ms is None:
        block_time_ms = received_ms
        flags.append("no_event_time")
    return new_envelope(
        data,
        source=f"{log.chain}{CHAIN_SOURCE_SUFFIX}",
        event_time_ms=block_time_ms,
        received_time_ms=received_ms,
        message_id=message_id_for(log.chain, log.tx_hash, log.log_index, data.message_type, key),
        confidence_score=CONFIDENCE[grade],
        data_quality=grade,
        quality_flags=flags or None,
    )


def _hex_bytes(value: object, name: str, *, size: int | None = None) -> bytes:
    if not isinstance(value, str) or not value.startswith(("0x", "0X")):
        raise ChainDecodeError(f"{name} must be 0x-prefixed hex text, got {value!r:.80}")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise ChainDecodeError(f"{name} is not hex: {value!r:.80}") from None
    if size is not None and len(raw) != size:
        raise ChainDecodeError(f"{name} must be {size} bytes, got {len(raw)}")
    return raw


def _hex_text(value: object, name: str, *, size: int) -> str:
    return "0x" + _hex_bytes(value, name, size=size).hex()


def _quantity(value: object, name: str) -> int:
    if not isinstance(value, str) or not value.startswith(("0x", "0X")) or len(value) < 3:
        raise ChainDecodeError(f"{name} must be a 0x-prefixed hex quantity, got {value!r:.80}")
    try:
        return int(value[2:], 16)
    except ValueError:
        raise ChainDecodeError(f"{name} is not a hex quantity: {value!r:.80}") from None


def _optional(obj: Mapping[str, Any], name: str, parse: Any) -> Any:
    value = obj.get(name)
    return None if value is None else parse(value)


def _removed(value: object) -> bool:
    if not isinstance(value, bool):
        raise ChainDecodeError(f"removed must be true or false, got {value!r:.80}")
    return value
