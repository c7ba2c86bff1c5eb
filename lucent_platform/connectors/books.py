"""Order-book helpers around ccxt's maintained book: levels, figures, integrity checks.

The books themselves are ccxt's (``exchange.order_book()``: bid/ask sides kept sorted with
bisect, a level of size 0 removed). This module reads frame levels strictly, computes the depth
and liquidity figures we publish, and does the checks ccxt does not do for us: a crossed book
(best bid ≥ best ask) on every venue, and Kraken's v1 and v2 book checksums (``kraken_checksum``,
``kraken_v2_checksum``).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Any

from lucent_platform.connectors.frames import FrameError, price, size
from lucent_platform.messages import PriceLevel

DEPTH_BAND_BPS = 10.0  # "size within 10 bps of mid"
_WIDE = Context(prec=80)  # room for any float written out with a pair's decimals


def read_levels(raw: Any, what: str) -> list[PriceLevel]:
    """``[[price, size, …], …]`` as sent (text or numbers) → ``[(price, size), …]``, checked."""
    if not isinstance(raw, list):
        raise FrameError(f"bad levels: {what} is not a list")
    levels = []
    for level in raw:
        if not isinstance(level, list | tuple) or len(level) < 2:
            raise FrameError(f"bad levels: {what} has {level!r}")
        levels.append((price(level[0], f"{what} price"), size(level[1], f"{what} size")))
    return levels


@dataclass(frozen=True)
class BookFigures:
    """Depth and liquidity of a maintained book after a frame, base-asset sizes.

    ``bid_depth_10bps``/``ask_depth_10bps`` add up the size resting within 10 bps of the mid on
    each side: what could be traded now without moving the price more than 0.1 %.
    """

    best_bid: float
    best_ask: float
    bid_size: float
    ask_size: float
    mid: float
    spread: float
    bid_depth_10bps: float
    ask_depth_10bps: float
    bid_levels: int
    ask_levels: int


def figures(bids: Sequence[Sequence[Any]], asks: Sequence[Sequence[Any]]) -> BookFigures | None:
    """The figures of a book with both sides non-empty (best level first), else None."""
    if not len(bids) or not len(asks):
        return None
    best_bid, bid_size = float(bids[0][0]), float(bids[0][1])
    best_ask, ask_size = float(asks[0][0]), float(asks[0][1])
    mid = (best_bid + best_ask) / 2
    band = mid * DEPTH_BAND_BPS / 10_000
    return BookFigures(
        best_bid=best_bid,
        best_ask=best_ask,
        bid_size=bid_size,
        ask_size=ask_size,
        mid=mid,
        spread=best_ask - best_bid,
        bid_depth_10bps=_depth(bids, lambda p: p >= mid - band),
        ask_depth_10bps=_depth(asks, lambda p: p <= mid + band),
        bid_levels=len(bids),
        ask_levels=len(asks),
    )


def _depth(side: Sequence[Sequence[Any]], within: Any) -> float:
    total = 0.0
    for level in side:  # best first: stop at the first level outside the band
        if not within(level[0]):
            break
        total += level[1]
    return total


def is_crossed(bids: Sequence[Sequence[Any]], asks: Sequence[Sequence[Any]]) -> bool:
    """Best bid at or above best ask: a book that missed an update."""
    return bool(len(bids) and len(asks) and bids[0][0] >= asks[0][0])


def top(side: Sequence[Sequence[Any]], depth: int) -> list[PriceLevel]:
    """The best ``depth`` levels of a ccxt book side as ``(price, size)`` tuples."""
    return [(float(level[0]), float(level[1])) for level in side[:depth]]


def store_text_level(side: Any, price_text: str, size_text: str) -> None:
    """Store a level in a ccxt book side keeping the venue's text (for Kraken's checksum).

    A level is ``[price, size, price_text, size_text]``. ccxt's side updates only ``[1]`` of a
    level already present, which would leave stale text behind, so the old level is removed
    first and the new one inserted whole.
    """
    level_price = price(price_text, "book price")
    level_size = size(size_text, "book size")
    side.store(level_price, 0)
    if level_size:
        side.storeArray([level_price, level_size, price_text, size_text])


def kraken_checksum(asks: Sequence[Sequence[Any]], bids: Sequence[Sequence[Any]]) -> int:
    """Kraken websocket v1 book checksum of a book whose levels keep the venue's text.

    Per Kraken's spec: for the best 10 asks (lowest first) then the best 10 bids (highest
    first), take price and volume text as sent, drop the ``.``, strip leading zeros, and
    concatenate everything; the checksum is CRC32 of that string, unsigned. Example: ask
    ``["0.05005", "0.00000500"]`` contributes ``"5005" + "500"``.
    """
    parts = []
    for side in (asks, bids):
        for level in side[:10]:
            parts.append(_checksum_text(level[2]))
            parts.append(_checksum_text(level[3]))
    return zlib.crc32("".join(parts).encode()) & 0xFFFFFFFF


def _checksum_text(text: str) -> str:
    return text.replace(".", "").lstrip("0")


def kraken_v2_checksum(
    asks: Sequence[Sequence[Any]],
    bids: Sequence[Sequence[Any]],
    price_decimals: int,
    qty_decimals: int,
) -> int:
    """Kraken websocket v2 book checksum of a ccxt book (levels ``[price, qty]`` as numbers).

    As v1's, over the best 10 asks then the best 10 bids, but v2 sends levels as JSON numbers
    (``0.001``, not ``"0.00100000"``): each is written out with the pair's price or qty
    decimals first. Kraken's documented example, BTC/USD with 1 and 8 decimals: ask
    ``{"price": 45285.2, "qty": 0.001}`` contributes ``"452852" + "100000"``.
    """
    parts = []
    for side in (asks, bids):
        for level in side[:10]:
            parts.append(_fixed_text(level[0], price_decimals))
            parts.append(_fixed_text(level[1], qty_decimals))
    return zlib.crc32("".join(parts).encode()) & 0xFFFFFFFF


def decimals_of(value: float) -> int:
    """Decimals a number shows in its shortest text: ``0.5666`` → 4, ``740.0`` → 0."""
    exponent = Decimal(repr(value)).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _fixed_text(value: float, decimals: int) -> str:
    # repr is the shortest text that reads back as the same float: the digits the venue sent
    fixed = Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), context=_WIDE)
    return format(fixed, "f").replace(".", "").lstrip("0")
