"""Order books: ``depth`` contiguous levels a side on the pair's price grid, kept exactly.

A book follows its venue's quote: when the best bid or ask moves, levels that fell out of the
window are removed (size 0 in the delta) and new ones appear with fresh sizes; a few resting
levels change size on every update. Levels are keyed by integer grid steps, so a consumer
that applies every delta to the last snapshot holds exactly the book the next snapshot shows,
and the best bid stays below the best ask (the quote guarantees it).

Sequence numbers work like Binance's update ids: a snapshot carries the last id applied, each
delta covers ``firstSequence..sequence`` and starts right after the previous message's
``sequence``.
"""

from __future__ import annotations

from lucent_platform.messages import PriceLevel
from lucent_platform.simulator.draws import Draws
from lucent_platform.simulator.prices import PriceGrid

SIZE_SIGMA = 0.6  # log-space spread of level sizes
DEPTH_GROWTH = 0.15  # deeper levels rest more size: +15 % per level from the top


class OrderBook:
    """One venue × pair book; sizes in base-asset units, prices as grid steps."""

    def __init__(self, depth: int, top_size: float, first_sequence: int) -> None:
        self.depth = depth
        self.top_size = top_size
        self.sequence = first_sequence
        self.bids: dict[int, float] = {}
        self.asks: dict[int, float] = {}
        self._bid_top: int | None = None
        self._ask_top: int | None = None

    def update(
        self, bid_top: int, ask_top: int, draws: Draws
    ) -> tuple[int, dict[int, float], dict[int, float]]:
        """Move the book to a new best bid/ask; returns the first sequence and changed levels.

        Changed levels map grid step → new size (``0.0`` removes the level).
        """
        bid_changes = self._follow(self.bids, self._bid_top, bid_top, -1, draws)
        ask_changes = self._follow(self.asks, self._ask_top, ask_top, 1, draws)
        self._bid_top, self._ask_top = bid_top, ask_top
        for _ in range(1 + int(draws.uniform() * 2)):
            if draws.uniform() < 0.5:
                self._resize(self.bids, bid_top, -1, bid_changes, draws)
            else:
                self._resize(self.asks, ask_top, 1, ask_changes, draws)
        first = self.sequence + 1
        self.sequence += 1 + int(draws.uniform() * 3)  # a venue may batch several update ids
        return first, bid_changes, ask_changes

    def top_sizes(self, bid_top: int, ask_top: int, draws: Draws) -> tuple[float, float]:
        """Sizes at a best bid/ask: the book's where it rests there, else a fresh draw."""
        bid = self.bids.get(bid_top)
        ask = self.asks.get(ask_top)
        return (
            bid if bid is not None else self._size(0, draws),
            ask if ask is not None else self._size(0, draws),
        )

    def levels(self, grid: PriceGrid) -> tuple[list[PriceLevel], list[PriceLevel]]:
        """The whole book as ``[price, size]`` levels, best first (what a snapshot carries)."""
        return as_levels(self.bids, grid, bids=True), as_levels(self.asks, grid, bids=False)

    def _follow(
        self, side: dict[int, float], old_top: int | None, top: int, away: int, draws: Draws
    ) -> dict[int, float]:
        changes: dict[int, float] = {}
        if old_top == top:
            return changes
        start = _window_start(top, away, self.depth)
        if old_top is None:
            removed, added = range(0), range(start, start + self.depth)
        else:
            removed, added = _shift(_window_start(old_top, away, self.depth), start, self.depth)
        for level in removed:
            del side[level]
            changes[level] = 0.0
        for level in added:
            side[level] = changes[level] = self._size(abs(level - top), draws)
        return changes

    def _resize(
        self, side: dict[int, float], top: int, away: int, changes: dict[int, float], draws: Draws
    ) -> None:
        distance = int(draws.uniform() * self.depth)
        level = top + away * distance
        if level in side and level not in changes:
            side[level] = changes[level] = self._size(distance, draws)

    def _size(self, distance: int, draws: Draws) -> float:
        return round(
            draws.lognormal(self.top_size * (1.0 + DEPTH_GROWTH * distance), SIZE_SIGMA), 4
        )


def as_levels(side: dict[int, float], grid: PriceGrid, *, bids: bool) -> list[PriceLevel]:
    """Levels best first: bids descending, asks ascending."""
    step, decimals = grid.step, grid.decimals  # grid.price, inlined: the hot loop of deltas
    return [(round(level * step, decimals), side[level]) for level in sorted(side, reverse=bids)]


def _window_start(top: int, away: int, depth: int) -> int:
    """The lowest grid step of ``depth`` levels from ``top`` away from the spread."""
    return top if away > 0 else top - depth + 1


def _shift(old_start: int, new_start: int, depth: int) -> tuple[range, range]:
    """Levels leaving and entering when a ``depth``-level window moves to ``new_start``."""
    old_end, new_end = old_start + depth, new_start + depth
    if new_start > old_start:
        return range(old_start, min(new_start, old_end)), range(max(old_end, new_start), new_end)
    return range(max(new_end, old_start), old_end), range(new_start, min(old_start, new_end))
