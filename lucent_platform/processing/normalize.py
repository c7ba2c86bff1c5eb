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

Output topic ``topics.normalized(kind)``, keyed by ``topics.partition_key``: the pair for
prices, trades and books, the protocol for yields, liquidations and governance, so all venues
of a pair (or all pools of a protocol) meet in one partition downstream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import msgspec

from lucent_platform.envelope import Envelope, Header, Metadata
from lucent_platform.messages import (
    MESSAGE_TYPES,
    GovernanceEvent,
    Liquidation,
    MessageData,
    OrderBookDelta,
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
}
_RAW_TOPIC = re.compile(r"market\.([a-z]+)\.(?!all$)[a-z0-9-]+(?:\.[a-z0-9-]+)?")
_PAIR = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)+")
_ID = re.compile(r"[a-z0-9][a-z0-9._-]*")
_SYMBOL = re.compile(r"[A-Z0-9][A-Z0-9._-]*")
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


class Names:
    """Canonical names, cached (a feed repeats a handful of names millions of times).

    Each method returns the canonical form, or ``None`` when there is none.
    """

    __slots__ = ("_ids", "_pairs", "_symbols")

    def __init__(self) -> None:
        self._pairs: dict[str, str | None] = {}
        self._ids: dict[str, str | None] = {}
        self._symbols: dict[str, str | None] = {}

    def pair(self, text: str) -> str | None:
        found = self._pairs.get(text, _MISSING)
        if found is _MISSING:
            cleaned = text.strip().upper().translate(_SEPARATORS)
            found = _remember(self._pairs, text, cleaned if _PAIR.fullmatch(cleaned) else None)
        return found  # type: ignore[return-value]

    def id(self, text: str) -> str | None:
        found = self._ids.get(text, _MISSING)
        if found is _MISSING:
            cleaned = text.strip().lower()
            found = _remember(self._ids, text, cleaned if _ID.fullmatch(cleaned) else None)
        return found  # type: ignore[return-value]

    def symbol(self, text: str) -> str | None:
        found = self._symbols.get(text, _MISSING)
        if found is _MISSING:
            cleaned = text.strip().upper()
            found = _remember(self._symbols, text, cleaned if _SYMBOL.fullmatch(cleaned) else None)
        return found  # type: ignore[return-value]


_MISSING: Any = object()


def _remember(cache: dict[str, str | None], text: str, value: str | None) -> str | None:
    if len(cache) >= _CACHE_LIMIT:  # garbage names must not grow the cache without bound
        cache.clear()
    cache[text] = value
    return value


def canonical(message_type: str, data: Any, names: Names) -> Any:
    """``data`` with canonical names (the same object when already canonical), or the
    name of the field that cannot be made canonical, as a ``str``."""
    changes: dict[str, str] = {}
    for field_name, kind in _NAME_FIELDS[message_type]:
        value = getattr(data, field_name)
        if value is None:
            continue
        fixed = (names.pair if kind == "pair" else names.id if kind == "id" else names.symbol)(
            value
        )
        if fixed is None:
            return f"{field_name} {value!r} has no canonical form"
        if fixed != value:
            changes[field_name] = fixed
    return msgspec.structs.replace(data, **changes) if changes else data


_NAME_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "price_update": (("exchange", "id"), ("pair", "pair")),
    "trade": (("exchange", "id"), ("pair", "pair")),
    "orderbook_snapshot": (("exchange", "id"), ("pair", "pair")),
    "orderbook_delta": (("exchange", "id"), ("pair", "pair")),
    "yield_rate": (("protocol", "id"), ("pool", "id"), ("chain", "id"), ("asset", "symbol")),
    "liquidation": (
        ("protocol", "id"),
        ("chain", "id"),
        ("collateral_asset", "symbol"),
        ("debt_asset", "symbol"),
    ),
    "governance_event": (("protocol", "id"), ("chain", "id")),
}


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
