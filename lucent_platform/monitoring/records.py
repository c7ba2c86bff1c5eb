"""What the monitor reads from a record: a normalized message's source (and price), or a dead
letter's source and reason. Decoding reads only the few fields it needs (msgspec skips the
rest), so an order book costs about as much as a price.

The source is a topic segment (``binance``, ``aave-v3``): a normalized message's
``exchange``, ``protocol``, ``l2`` or ``chain`` (else ``header.source``); a dead letter's raw
source topic ``market.{kind}.{source}.…``. Dead letters of other topics (a signal app's late
event on ``market.prices.all``, a bridge reject) say nothing about a source and are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from lucent_platform.processing import deadletter
from lucent_platform.topics import RESERVED_SEGMENTS, TopicNameError, segment


class _Header(msgspec.Struct, rename="camel"):
    source: str
    message_type: str
    received_time_ms: int


class _Data(msgspec.Struct):
    exchange: str | None = None
    protocol: str | None = None
    l2: str | None = None
    chain: str | None = None
    pair: str | None = None
    price: float | None = None


class _Frame(msgspec.Struct):
    header: _Header
    data: _Data


_frame = msgspec.json.Decoder(_Frame)


PERIODIC = frozenset(
    {"price_update", "trade", "orderbook_snapshot", "orderbook_delta", "yield_rate"}
)
"""Kinds a live source sends all the time; liquidations, governance events, bridge transfers
and swaps come when something happens, so their silence says nothing about freshness."""


@dataclass(frozen=True, slots=True)
class Message:
    """A normalized message: its source, receive time, whether its kind is ``PERIODIC``, and
    (price updates) pair and price."""

    source: str
    received_ms: int
    pair: str | None = None
    price: float | None = None
    periodic: bool = True


@dataclass(frozen=True, slots=True)
class Failure:
    """A dead letter of a raw source topic."""

    source: str
    reason: str
    at_ms: int


def message(value: bytes) -> Message | None:
    """The normalized record's ``Message``; None when it is no readable envelope."""
    try:
        frame = _frame.decode(value)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    data = frame.data
    name = data.exchange or data.protocol or data.l2 or data.chain or frame.header.source
    try:
        source = segment(name)
    except TopicNameError:
        return None
    kind = frame.header.message_type
    priced = kind == "price_update" and data.pair and data.price
    return Message(
        source,
        frame.header.received_time_ms,
        data.pair if priced else None,
        data.price if priced else None,
        kind in PERIODIC,
    )


def failure(value: bytes) -> Failure | None:
    """The dead letter's ``Failure``; None when it is unreadable or not of a raw topic."""
    try:
        letter = deadletter.decode(value)
    except (msgspec.DecodeError, UnicodeDecodeError, ValueError):
        return None
    parts = letter.source_topic.split(".")
    if len(parts) < 3 or parts[0] != "market" or parts[2] in RESERVED_SEGMENTS:
        return None
    return Failure(parts[2], letter.reason, letter.dead_lettered_at_ms)
