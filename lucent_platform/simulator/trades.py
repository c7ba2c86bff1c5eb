"""Trades: takers crossing the spread at a venue's current best bid or ask.

A buy lifts the ask, a sell hits the bid, half of each; amounts are log-normal around a
typical trade of a few thousand dollars. Trade ids count up per venue × pair from a seeded
start, like a venue's own ids.
"""

from __future__ import annotations

from lucent_platform.messages import Trade
from lucent_platform.simulator.draws import Draws
from lucent_platform.simulator.prices import PriceGrid

TYPICAL_TRADE_USD = 3_000.0
AMOUNT_SIGMA = 1.0  # log-space spread: most trades within ×/÷ 2.7 of the typical size


class TradeTape:
    """One venue × pair's trades."""

    def __init__(self, exchange: str, pair: str, price: float, first_id: int) -> None:
        self.exchange = exchange
        self.pair = pair
        self.median_amount = TYPICAL_TRADE_USD / price
        self.next_id = first_id

    def trade(self, bid: int, ask: int, grid: PriceGrid, draws: Draws) -> Trade:
        """The next trade against a best bid/ask given in grid steps."""
        buy = draws.uniform() < 0.5
        amount = draws.lognormal(self.median_amount, AMOUNT_SIGMA)
        trade_id = self.next_id
        self.next_id += 1
        return Trade(
            exchange=self.exchange,
            pair=self.pair,
            price=grid.price(ask if buy else bid),
            amount=round(amount, 5) or 0.00001,
            trade_id=str(trade_id),
            side="buy" if buy else "sell",
        )
