"""One exchange × pair feed: its topics, book, trade tape and the messages it publishes.

A ``VenueStream`` turns the market model's current quote for its venue and pair into the
``data`` of price updates, trades and order-book messages; the simulator wraps them in
envelopes. Counters here make every message id unique and reproducible.
"""

from __future__ import annotations

import math

from lucent_platform import topics
from lucent_platform.envelope import message_id_for
from lucent_platform.messages import (
    Liquidity,
    OrderBookDelta,
    OrderBookSnapshot,
    PriceUpdate,
    Trade,
)
from lucent_platform.simulator.books import OrderBook, as_levels
from lucent_platform.simulator.config import SimulatorConfig
from lucent_platform.simulator.draws import Draws
from lucent_platform.simulator.prices import MarketModel
from lucent_platform.simulator.trades import TradeTape

TOP_OF_BOOK_USD = 150_000.0  # typical size resting at one book level
CHANGE_24H_SPREAD = 0.03  # where the price stood 24 h ago: log-normal, ~3 %
VOLUME_DRIFT = 0.002  # log-space step of the 24-hour volume per price update


class VenueStream:
    """The state of one exchange × pair feed (stream ``index`` in the market model)."""

    def __init__(
        self,
        index: int,
        exchange: str,
        pair: str,
        config: SimulatorConfig,
        model: MarketModel,
        draws: Draws,
        run_id: str,
    ) -> None:
        self.index = index
        self.exchange = exchange
        self.pair = pair
        self.prices_topic = topics.prices(exchange, pair)
        self.trades_topic = topics.trades(exchange, pair)
        self.book_topic = topics.orderbook(exchange, pair)
        self.key = pair.encode()
        self.source = f"{exchange}-simulator"
        self.delay_ms = config.venue(exchange).delay_ms
        self.grid = model.grid[index]
        price = model.mid[index]
        self.book = OrderBook(
            config.book_depth, TOP_OF_BOOK_USD / price, 10**9 + int(draws.uniform() * 10**9)
        )
        self.book.update(model.bid_steps[index], model.ask_steps[index], draws)  # resting book
        self.tape = TradeTape(exchange, pair, price, 10**8 + int(draws.uniform() * 10**8))
        asset = config.asset(pair.split("-")[0])
        self.volume24h = asset.daily_volume_usd * config.venue(exchange).volume_share / price
        self.price_24h_ago = price * math.exp(CHANGE_24H_SPREAD * draws.normal())
        self.gap_until_ms: int | None = None
        self.last_received_ms = 0
        self._id_prefix = f"{run_id}\x1f{exchange}\x1f{pair}"
        self._sent = 0

    def next_message_id(self) -> str:
        """A fresh deterministic id: this run, this feed, the feed's message count."""
        self._sent += 1
        return message_id_for(self._id_prefix, self._sent)

    def price_update(self, model: MarketModel, draws: Draws) -> PriceUpdate:
        """The venue's ticker now: mid price, best bid/ask with sizes, 24-hour figures."""
        bid, ask = model.bid_steps[self.index], model.ask_steps[self.index]
        grid = self.grid
        bid_size, ask_size = self.book.top_sizes(bid, ask, draws)
        price = round((bid + ask) * grid.step / 2, grid.decimals + 1)
        self.volume24h *= math.exp(VOLUME_DRIFT * draws.normal())
        return PriceUpdate(
            exchange=self.exchange,
            pair=self.pair,
            price=price,
            volume24h=round(self.volume24h, 4),
            change24h=round((price / self.price_24h_ago - 1.0) * 100.0, 3),
            bid=grid.price(bid),
            ask=grid.price(ask),
            spread=grid.price(ask - bid),
            liquidity=Liquidity(bid_size=bid_size, ask_size=ask_size),
        )

    def trade(self, model: MarketModel, draws: Draws) -> Trade:
        return self.tape.trade(
            model.bid_steps[self.index], model.ask_steps[self.index], self.grid, draws
        )

    def book_delta(self, model: MarketModel, draws: Draws) -> OrderBookDelta:
        """Move the book to the current quote; the changed levels, best first."""
        first, bids, asks = self.book.update(
            model.bid_steps[self.index], model.ask_steps[self.index], draws
        )
        return OrderBookDelta(
            exchange=self.exchange,
            pair=self.pair,
            bids=as_levels(bids, self.grid, bids=True),
            asks=as_levels(asks, self.grid, bids=False),
            first_sequence=first,
            sequence=self.book.sequence,
        )

    def book_snapshot(self) -> OrderBookSnapshot:
        """The whole book as it stands after the last delta."""
        bids, asks = self.book.levels(self.grid)
        return OrderBookSnapshot(
            exchange=self.exchange,
            pair=self.pair,
            bids=bids,
            asks=asks,
            sequence=self.book.sequence,
        )
