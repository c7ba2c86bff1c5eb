"""Order books kept from a snapshot plus the deltas that follow it, for depth figures.

Deltas carry absolute sizes (0 removes a level), so applying one twice is harmless; what
matters is not missing one. With venue sequence numbers (Binance ``lastUpdateId``/``U``/``u``)
a delta is applied when it covers the next id (``firstSequence <= sequence + 1``), skipped
when it is older than the book, and a gap marks the book out of sync until the next
snapshot: a book we know is wrong gives no depth. Without sequence numbers deltas are applied
as they come.

Depth is read on every price update, so each side keeps its best and far edge prices and a
running total of its sizes, updated as deltas apply: when the whole side lies within the band
(the usual case: venues publish a few levels around the touch), depth is that total, without
a scan of the book. An edge that a delta removes is found again by one C-level ``max``/``min``
scan the next time depth is read.
"""

from __future__ import annotations

import math

from lucent_platform.messages import OrderBookDelta, OrderBookSnapshot, PriceLevel

EXACT_EVERY = 1024  # deltas between exact recomputations of the running totals


class Book:
    """One venue × pair's book; ``owner`` is the input partition whose messages built it."""

    __slots__ = (
        "_ask_total",
        "_bid_total",
        "_depth",
        "_edges",
        "_since_exact",
        "asks",
        "bids",
        "changed_ms",
        "owner",
        "sequence",
        "synced",
    )

    def __init__(self, owner: tuple[str, int]) -> None:
        self.owner = owner
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self.sequence: int | None = None
        self.synced = False
        self.changed_ms = 0
        self._bid_total = self._ask_total = 0.0
        # best bid, far bid, best ask, far ask; None: not known (recomputed when read)
        self._edges: list[float | None] = [None, None, None, None]
        self._since_exact = 0
        self._depth: tuple[float, float, float, float] | None = None  # (band, mid, bid, ask)

    def snapshot(self, data: OrderBookSnapshot, event_ms: int) -> None:
        """Replace the book; it is in sync from here."""
        self.bids = dict(data.bids)
        self.asks = dict(data.asks)
        self._edges = [None, None, None, None]
        self._exact_totals()
        self.sequence = data.sequence
        self.synced = True
        self.changed_ms = event_ms
        self._depth = None

    def apply(self, data: OrderBookDelta, event_ms: int) -> bool:
        """Apply a delta; ``False`` when the book is (now) out of sync and it was not applied."""
        if not self.synced:
            return False
        last, first = data.sequence, data.first_sequence
        if self.sequence is not None and last is not None:
            if last <= self.sequence:
                return True  # already in the book (the snapshot or an earlier delta covers it)
            if (first if first is not None else last) > self.sequence + 1:
                self.synced = False  # missed an update: wait for the next snapshot
                self._depth = None
                return False
        edges = self._edges
        if data.bids:
            self._bid_total += _apply(self.bids, data.bids, edges, 0, 1.0)
        if data.asks:
            self._ask_total += _apply(self.asks, data.asks, edges, 2, -1.0)
        self._since_exact += 1
        if self._since_exact >= EXACT_EVERY:
            self._exact_totals()
        if last is not None:
            self.sequence = last
        self.changed_ms = event_ms
        self._depth = None
        return True

    def depth(self, band_bps: float) -> tuple[float, float, float] | None:
        """(mid, bid size, ask size) within ``band_bps`` of the mid; ``None`` when the book
        is out of sync, one-sided, or crossed."""
        if not self.synced:
            return None
        cached = self._depth
        if cached is not None and cached[0] == band_bps:
            return cached[1], cached[2], cached[3]
        bids, asks = self.bids, self.asks
        if not bids or not asks:
            return None
        edges = self._edges
        best_bid, far_bid, best_ask, far_ask = edges
        if best_bid is None:
            best_bid = edges[0] = max(bids)
        if best_ask is None:
            best_ask = edges[2] = min(asks)
        if best_bid >= best_ask:
            return None
        mid = (best_bid + best_ask) * 0.5
        floor, ceiling = mid * (1.0 - band_bps / 10_000.0), mid * (1.0 + band_bps / 10_000.0)
        if far_bid is None:
            far_bid = edges[1] = min(bids)
        if far_ask is None:
            far_ask = edges[3] = max(asks)
        if far_bid >= floor:
            bid_size = self._bid_total
        else:
            bid_size = math.fsum([size for price, size in bids.items() if price >= floor])
        if far_ask <= ceiling:
            ask_size = self._ask_total
        else:
            ask_size = math.fsum([size for price, size in asks.items() if price <= ceiling])
        self._depth = (band_bps, mid, bid_size, ask_size)
        return mid, bid_size, ask_size

    def _exact_totals(self) -> None:
        self._bid_total = math.fsum(self.bids.values())
        self._ask_total = math.fsum(self.asks.values())
        self._since_exact = 0


def _apply(
    side: dict[float, float],
    levels: list[PriceLevel],
    edges: list[float | None],
    best: int,
    sign: float,
) -> float:
    """Apply one side's levels; the change of the side's total size. ``edges[best]`` and
    ``edges[best + 1]`` are the side's best and far prices; ``sign`` is 1 for bids (best is
    highest), -1 for asks. An added level beyond a known edge moves it; a removed edge level
    makes the edge unknown."""
    change = 0.0
    for price, size in levels:
        old = side.pop(price, 0.0)
        change += size - old
        if size > 0.0:
            side[price] = size
            if old == 0.0:  # a new level: does it move an edge?
                edge = edges[best]
                if edge is not None and (price - edge) * sign > 0.0:
                    edges[best] = price
                edge = edges[best + 1]
                if edge is not None and (edge - price) * sign > 0.0:
                    edges[best + 1] = price
        elif old != 0.0:
            if price == edges[best]:
                edges[best] = None
            if price == edges[best + 1]:
                edges[best + 1] = None
    return change
