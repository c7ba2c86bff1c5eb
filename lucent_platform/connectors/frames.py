"""What a connector receives (``RawFrame``), and reading numbers out of it strictly.

A frame is the payload exactly as the venue sent it: a parsed JSON value, or its text/bytes.
Venues send prices and sizes as decimal text (``"58001.03000000"``); they become floats here, and
anything that is not a finite number where one must be raises ``FrameError`` with a reason, so
the connector can report the frame as rejected instead of passing garbage on to ccxt or Kafka.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import msgspec

MAX_EPOCH_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: the ISO text stays four-digit


class FrameError(ValueError):
    """A frame that cannot be used; the message is the reason (``"<category>: <details>"``)."""


@dataclass(frozen=True)
class RawFrame:
    """One frame as a connector received it.

    ``exchange`` is our venue id (``binance``, ``binanceus``, ``coinbase``, ``kraken``);
    ``received_ns`` is our receive time, UTC epoch nanoseconds; ``message`` the frame as received
    (a parsed JSON value, or ``str``/``bytes`` text); ``url`` is set for REST responses, e.g. a
    Binance depth snapshot ``https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=1000``.
    """

    exchange: str
    received_ns: int
    message: Any
    url: str | None = None


def decode_message(message: Any) -> Any:
    """The frame's JSON value: text and bytes are parsed, anything else is taken as parsed."""
    if isinstance(message, bytes | bytearray | memoryview):
        try:
            message = bytes(message).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FrameError(f"not text: {exc}") from None
    if not isinstance(message, str):
        return message
    try:
        return msgspec.json.decode(message)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        pass  # msgspec refuses numbers beyond float range; the standard parser reads them
    try:
        return json.loads(message)
    except (ValueError, RecursionError) as exc:
        raise FrameError(f"not JSON: {exc}") from None


def number(value: Any, what: str) -> float:
    """A finite float from decimal text or a JSON number (never a bool)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FrameError(f"bad number: {what} is {value!r}")
    try:
        result = float(value)
    except (ValueError, OverflowError):
        raise FrameError(f"bad number: {what} is {value!r}") from None
    if not math.isfinite(result):
        raise FrameError(f"bad number: {what} is {value!r}")
    return result


def price(value: Any, what: str = "price") -> float:
    result = number(value, what)
    if result <= 0:
        raise FrameError(f"bad number: {what} must be positive, got {value!r}")
    return result


def size(value: Any, what: str = "size") -> float:
    result = number(value, what)
    if result < 0:
        raise FrameError(f"bad number: {what} must not be negative, got {value!r}")
    return result


def integer(value: Any, what: str) -> int:
    """An int64 from a JSON integer or integer text."""
    if isinstance(value, bool):
        raise FrameError(f"bad integer: {what} is {value!r}")
    if isinstance(value, int):
        result = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        result = int(value)
    else:
        raise FrameError(f"bad integer: {what} is {value!r}")
    if not -(2**63) <= result < 2**63:
        raise FrameError(f"bad integer: {what} is out of range")
    return result


def epoch_ms(value: Any, what: str) -> int:
    """A plausible UTC epoch-milliseconds time (1970 … 9999)."""
    result = int(number(value, what)) if isinstance(value, float) else integer(value, what)
    if not 0 <= result <= MAX_EPOCH_MS:
        raise FrameError(f"bad time: {what} is {value!r}")
    return result


def seconds_text_ms(value: Any, what: str) -> int:
    """Epoch seconds as decimal text (Kraken ``"1617666423.606671"``) → milliseconds.

    Done on the digits, not through a float, so the millisecond is exact.
    """
    if isinstance(value, str):
        whole, _, fraction = value.strip().partition(".")
        if whole.isdigit() and (fraction.isdigit() or fraction == ""):
            return epoch_ms(int(whole) * 1000 + int((fraction + "000")[:3]), what)
    return epoch_ms(number(value, what) * 1000, what)


def require(condition: bool, reason: str) -> None:
    """Raise ``FrameError(reason)`` unless ``condition``: a frame-shape check."""
    if not condition:
        raise FrameError(reason)
