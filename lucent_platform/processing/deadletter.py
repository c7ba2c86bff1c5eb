"""Dead letters: what the processor writes to ``market.deadletter`` instead of a bad message.

Every record that fails decoding or validation (or trips a bug in a stage) becomes one dead
letter, keyed by its source topic, so nothing is silently lost (DESIGN.md decision 7) and
anyone can look, fix and replay it: the original bytes travel exactly, base64 in the JSON. A
dead letter as it travels::

    {"reason": "outlier", "detail": "price 600321.5 is 44.1 robust z from median 60032.1",
     "sourceTopic": "market.prices.binance.btc-usdt", "sourcePartition": 0,
     "sourceOffset": 81723, "sourceTimestampMs": 1756809000141,
     "deadLetteredAtMs": 1756809000152, "originalBase64": "eyJoZWFkZXIiOnsi…",
     "messageId": "0f8e4c1a-…", "messageType": "price_update"}

``messageId``/``messageType`` are there when the header could be read; ``originalNull`` marks
a record that had no value at all (a tombstone), whose ``originalBase64`` is then empty.

An original over ``MAX_ORIGINAL_BYTES`` (512 KiB; market messages are a few kB) travels cut to
that many bytes, with ``originalTruncated``, its full ``originalSize`` and ``originalSha256``:
whole, its base64 would pass the producers' 1 MB message limit and the worker could not write
the dead letter at all (a 900 kB garbage record once stopped the processor that way). The full
bytes stay in the source topic at ``sourceTopic``/``sourcePartition``/``sourceOffset`` for as
long as its retention keeps them; the hash proves a copy fetched from there is the same record.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

import msgspec

MAX_ORIGINAL_BYTES = 512 * 1024
"""The most of a record's bytes a dead letter carries (base64 makes it 683 KiB, under the
producers' 1,000,000-byte ``message.max.bytes`` with room for the rest of the letter)."""
MAX_DETAIL_CHARS = 2000
MAX_RECORD_BYTES = MAX_ORIGINAL_BYTES
"""A raw record over this many bytes is dead-lettered ``too_large`` before it is parsed:
market messages are a few kB, and a valid envelope of ~1 MB would make a normalized output over
the producers' 1 MB limit (``MSG_SIZE_TOO_LARGE`` at ``produce``, which stops the worker).
The same number as ``MAX_ORIGINAL_BYTES``, so the only letters cut are ``too_large`` ones."""


class Reason(StrEnum):
    """Why a record was dead-lettered; counted as ``dead.<reason>``."""

    TOO_LARGE = "too_large"  # over MAX_RECORD_BYTES: not parsed at all
    UNDECODABLE = "undecodable"  # not an envelope: bad JSON, missing field, wrong type, no value
    INVALID_HEADER = "invalid_header"  # source or message id empty, too long, or not printable
    UNKNOWN_KIND = "unknown_kind"  # header.messageType is no kind we know
    WRONG_TOPIC = "wrong_topic"  # a known kind that this raw topic family does not carry
    INVALID_PAIR = "invalid_pair"  # pair/exchange/protocol cannot be made one canonical name
    INVALID_PRICE = "invalid_price"  # price, bid or ask not positive and finite
    PRICE_OUT_OF_BOUNDS = "price_out_of_bounds"  # outside the pair's configured bounds
    OUTLIER = "outlier"  # robust z-score vs the rolling median above the threshold
    INVALID_VOLUME = "invalid_volume"  # volume, size or amount negative, zero or not finite
    CROSSED_QUOTE = "crossed_quote"  # bid above ask
    INCONSISTENT_SPREAD = "inconsistent_spread"  # spread field is not ask - bid
    SPREAD_TOO_WIDE = "spread_too_wide"  # ask - bid wider than the configured bps
    FUTURE_TIMESTAMP = "future_timestamp"  # event time ahead of the receive time
    STALE_EVENT = "stale_event"  # received too long after the event
    CLOCK_SKEW = "clock_skew"  # receive time far from our clock (off unless configured)
    IMPLAUSIBLE_TIME = "implausible_time"  # event or receive time outside 2000..2100 UTC
    TOO_MANY_INSTRUMENTS = "too_many_instruments"  # a new venue × pair past max_instruments
    INVALID_BOOK = "invalid_book"  # levels unsorted, not positive or not finite
    CROSSED_BOOK = "crossed_book"  # best bid at or above best ask
    INVALID_YIELD = "invalid_yield"  # APY outside [-100, 10000] %, TVL negative
    INVALID_ADDRESS = "invalid_address"  # an on-chain address or tx hash that is not 0x hex
    INVALID_AMOUNT = "invalid_amount"  # a raw on-chain integer that is not one, or is missing
    PROCESSING_ERROR = "processing_error"  # a bug in a stage, caught for this record only


class DeadLetter(msgspec.Struct, rename="camel", frozen=True, omit_defaults=True, gc=False):
    """One dead-lettered record: why, where from, when, and the exact original bytes."""

    reason: str
    detail: str
    source_topic: str
    source_partition: int
    source_offset: int
    source_timestamp_ms: int
    dead_lettered_at_ms: int
    original_base64: bytes  # msgspec writes bytes as base64 text
    message_id: str | None = None
    message_type: str | None = None
    original_null: bool = False
    original_truncated: bool = False
    original_size: int | None = None  # the full record's bytes, when truncated
    original_sha256: str | None = None  # hex digest of the full record, when truncated


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(DeadLetter)


def encode(letter: DeadLetter) -> bytes:
    """The dead letter as JSON; text that is not valid UTF-8 is escaped, never an error, and
    an original over ``MAX_ORIGINAL_BYTES`` is cut to it (size and hash kept)."""
    if len(letter.detail) > MAX_DETAIL_CHARS:  # a detail quoting a huge field of the input
        letter = msgspec.structs.replace(
            letter, detail=letter.detail[:MAX_DETAIL_CHARS] + f"… ({len(letter.detail)} chars)"
        )
    original = letter.original_base64
    if len(original) > MAX_ORIGINAL_BYTES:
        letter = msgspec.structs.replace(
            letter,
            original_base64=bytes(original[:MAX_ORIGINAL_BYTES]),
            original_truncated=True,
            original_size=len(original),
            original_sha256=hashlib.sha256(original).hexdigest(),
        )
    try:
        return _encoder.encode(letter)
    except UnicodeEncodeError:  # a lone surrogate in any text taken from bad input
        return _encoder.encode(
            msgspec.structs.replace(
                letter,
                reason=_printable(letter.reason),
                source_topic=_printable(letter.source_topic),
                detail=_printable(letter.detail),
                message_id=None if letter.message_id is None else _printable(letter.message_id),
                message_type=(
                    None if letter.message_type is None else _printable(letter.message_type)
                ),
            )
        )


def decode(value: bytes) -> DeadLetter:
    """A dead letter read back (for inspection and replay); ``msgspec.ValidationError``
    or ``msgspec.DecodeError`` if ``value`` is not one."""
    return _decoder.decode(value)


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
