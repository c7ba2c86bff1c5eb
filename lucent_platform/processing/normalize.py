"""Normalization: one format across exchanges and protocols, and where each message goes.

The format (what every consumer of ``market.{kind}.all`` can rely on):

- pairs ``BASE-QUOTE`` upper-case (``eth/usdc``, ``ETH_USDC``, ``eth-usdc`` → ``ETH-USDC``);
  venue, protocol, pool and chain ids lower-case (``Binance`` → ``binance``); asset symbols
  upper-case; a name that cannot be made canonical is dead-lettered (``invalid_pair``);
- times UTC epoch milliseconds (``header.eventTimeMs``/``receivedTimeMs``; decoding already
  derives them for design-record frames that only carry ISO text), prices and sizes floats
  in quote/base units (decoding already turns JSON integers into floats);
- ``header`` kept as it came (``messageId`` for downstream idempotency, ``source`` naming the
  connector), except ``version``, which becomes the kind's current schema version since the
  message is re-encoded with the current model;
- ``metadata.latencyMs`` = incoming ``latencyMs`` + (processor clock at output −
  ``receivedTimeMs``): the venue → connector latency the connector measured plus connector →
  processor output, i.e. end to end so far from the event (the Kafka produce and the
  consumer's hop are still to come). Other metadata is kept.

Output topic ``topics.normalized(kind)``, keyed as ``topics.partition_key`` keys: the pair for
prices, trades and books, the protocol for yields, liquidations and governance, the L2 for
bridge transfers and the pool for unknown pools' swaps, so all venues of a pair (or all pools
of a protocol) meet in one partition downstream. On-chain addresses and hashes are lower-case.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from lucent_platform.envelope import Envelope, Header, Metadata
from lucent_platform.messages import (
    MESSAGE_TYPES,
    BridgeTransfer,
    GovernanceEvent,
    Liquidation,
    MessageData,
    OrderBookDelta,
    PoolSwap,
    PriceUpdate,
    Trade,
    YieldRate,
)
from lucent_platform.topics import Kind, normalized

KIND_OF: dict[str, Kind] = {
    "price_update": Kind.PRICES,
    "trade": Kind.TRADES,
    "orderbook_snapshot": Kind.ORDERBOOK,
    "orderbook_delta": Kind.ORDERBOOK,
    "yield_rate": Kind.YIELDS,
    "liquidation": Kind.LIQUIDATIONS,
    "governance_event": Kind.GOVERNANCE,
    "bridge_transfer": Kind.BRIDGES,
    "pool_swap": Kind.SWAPS,
}
"""The raw market kinds the processor takes, and the topic family of each."""

OUTPUT_TOPIC: dict[str, str] = {
    message_type: normalized(kind) for message_type, kind in KIND_OF.items()
}
VERSION: dict[str, str] = {
    message_type: f"{MESSAGE_TYPES[message_type].schema_version}.0" for message_type in KIND_OF
}
_LIKELY: dict[Kind, type[MessageData]] = {
    Kind.PRICES: PriceUpdate,
    Kind.TRADES: Trade,
    Kind.ORDERBOOK: OrderBookDelta,  # deltas outnumber snapshots
    Kind.YIELDS: YieldRate,
    Kind.LIQUIDATIONS: Liquidation,
    Kind.GOVERNANCE: GovernanceEvent,
    Kind.BRIDGES: BridgeTransfer,
    Kind.SWAPS: PoolSwap,
}
_RAW_TOPIC = re.compile(r"market\.([a-z]+)\.(?!all$)[a-z0-9-]+(?:\.[a-z0-9-]+)?")
_PAIR = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)+")
# at most 128 characters: a name is a label for people and state keys, not a payload
_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,127}")
_SYMBOL = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,127}")
_SEPARATORS = str.maketrans({"/": "-", ":": "-", "_": "-", " ": "-"})
_CACHE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Route:
    """What a raw topic carries: its ``kind`` (``None`` for a topic outside the raw
    families, whose messages are routed by their own type) and the kind to decode first."""

    kind: Kind | None
    likely: type[MessageData] | None


def route(topic: str) -> Route:
    """The route of a raw topic: ``market.prices.binance.btc-usdt`` → prices, PriceUpdate."""
    match = _RAW_TOPIC.fullmatch(topic)
    kind = Kind._value2member_map_.get(match.group(1)) if match else None
    if not isinstance(kind, Kind):
        return Route(None, None)
    return Route(kind, _LIKELY[kind])


class Identity:
    """Canonical names and the output key of a message, with names cached (a feed repeats a
    handful of names millions of times; the caches are cleared past ``_CACHE_LIMIT`` so
    garbage names cannot grow them without bound)."""

    __slots__ = ("_by_kind", "_ids", "_keys", "_pairs", "_symbols")

    def __init__(self) -> None:
        self._ids: dict[str, str | None] = {}
        self._symbols: dict[str, str | None] = {}
        self._pairs: dict[str, tuple[str, bytes] | None] = {}
        self._keys: dict[str, bytes] = {}
        self._by_kind: dict[str, Callable[[Any], tuple[Any, bytes] | str]] = {
            "price_update": self._venue_pair,
            "trade": self._venue_pair,
            "orderbook_snapshot": self._venue_pair,
            "orderbook_delta": self._venue_pair,
            "yield_rate": self._protocol,
            "liquidation": self._protocol,
            "governance_event": self._protocol,
            "bridge_transfer": self._protocol,
            "pool_swap": self._protocol,
        }

    def of(self, message_type: str, data: Any) -> tuple[Any, bytes] | str:
        """(``data`` with canonical names, its Kafka key), or why there is none (a ``str``).
        ``data`` is returned as is when its names are canonical already."""
        return self._by_kind[message_type](data)

    def _venue_pair(self, data: Any) -> tuple[Any, bytes] | str:
        exchange, pair = data.exchange, data.pair
        venue = self._ids.get(exchange, _MISSING)
        if venue is _MISSING:
            venue = _remember(self._ids, exchange, _canonical_id(exchange))
        canonical = self._pairs.get(pair, _MISSING)
        if canonical is _MISSING:
            canonical = _remember(self._pairs, pair, _canonical_pair(pair))
        if venue is None:
            return f"exchange {exchange!r} has no canonical form"
        if canonical is None:
            return f"pair {pair!r} is not BASE-QUOTE"
        name, key = canonical
        if venue != exchange or name != pair:
            data = msgspec.structs.replace(data, exchange=venue, pair=name)
        return data, key

    def _protocol(self, data: Any) -> tuple[Any, bytes] | str:
        changes: dict[str, str] = {}
        for field_name, symbol in _DEFI_NAMES[type(data)]:
            value = getattr(data, field_name)
            if value is None:
                continue
            cache = self._symbols if symbol else self._ids
            fixed = cache.get(value, _MISSING)
            if fixed is _MISSING:
                fixed = _remember(
                    cache, value, _canonical_symbol(value) if symbol else _canonical_id(value)
                )
            if fixed is None:
                return f"{field_name} {value!r} has no canonical form"
            if fixed != value:
                changes[field_name] = fixed
        for field_name in _ADDRESSES.get(type(data), ()):
            value = getattr(data, field_name)
            if value is not None and value != value.lower():
                changes[field_name] = value.lower()
        if changes:
            data = msgspec.structs.replace(data, **changes)
        name = getattr(data, _KEY_FIELD.get(type(data), "protocol"))
        key = self._keys.get(name)
        if key is None:
            key = _remember(self._keys, name, name.encode())
        return data, key


_MISSING: Any = object()
_DEFI_NAMES: dict[type, tuple[tuple[str, bool], ...]] = {
    # (field, is an asset symbol): symbols upper-case, ids lower-case
    YieldRate: (("protocol", False), ("pool", False), ("chain", False), ("asset", True)),
    Liquidation: (
        ("protocol", False),
        ("chain", False),
        ("collateral_asset", True),
        ("debt_asset", True),
    ),
    GovernanceEvent: (("protocol", False), ("chain", False)),
    BridgeTransfer: (("chain", False), ("l2", False), ("token", True)),
    PoolSwap: (("chain", False), ("dex", False)),
}
_ADDRESSES: dict[type, tuple[str, ...]] = {
    # hex addresses and hashes: lower-case, as chain decoders write them
    BridgeTransfer: (
        "l1_token", "l2_token", "from_address", "to_address", "bridge", "tx_hash",
    ),
    PoolSwap: ("pool", "token0", "token1", "sender", "recipient", "tx_hash"),
}  # fmt: skip
_KEY_FIELD: dict[type, str] = {BridgeTransfer: "l2", PoolSwap: "pool"}
"""The field keying a kind other than by ``protocol`` (as ``topics.partition_key`` does)."""


def _canonical_id(text: str) -> str | None:
    cleaned = text.strip().lower()
    return cleaned if _ID.fullmatch(cleaned) else None


def _canonical_symbol(text: str) -> str | None:
    cleaned = text.strip().upper()
    return cleaned if _SYMBOL.fullmatch(cleaned) else None


def _canonical_pair(text: str) -> tuple[str, bytes] | None:
    cleaned = text.strip().upper().translate(_SEPARATORS)
    if len(cleaned) > 128 or not _PAIR.fullmatch(cleaned):
        return None
    return cleaned, cleaned.encode()


def _remember(cache: dict[str, Any], text: str, value: Any) -> Any:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[text] = value
    return value


def output_envelope(envelope: Envelope[Any], data: Any, now_ms: int) -> Envelope[Any]:
    """The normalized envelope of ``envelope`` carrying ``data`` (see the module docstring)."""
    header: Header = envelope.header
    version = VERSION[header.message_type]
    if header.version != version:
        header = msgspec.structs.replace(header, version=version)
    metadata = envelope.metadata
    return Envelope(
        header,
        data,
        Metadata(
            metadata.latency_ms + (now_ms - header.received_time_ms),
            metadata.confidence_score,
            metadata.data_quality,
            metadata.quality_flags,
        ),
    )
