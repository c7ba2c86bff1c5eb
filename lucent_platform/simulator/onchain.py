"""On-chain events of the simulation: each block's liquidations and governance, as messages.

They draw from their own generator, a child of the seed (``SeedSequence(seed,
spawn_key=(1,))``), never from the market's: adding them left every venue's and pool's
messages byte for byte what they were (a cascade's crash moves prices, but by a shift, not by
a draw). They are published on ``market.liquidations.{protocol}`` and
``market.governance.{protocol}`` at their block's timestamp, reaching our simulated poller
0.8 s or so later, and are never picked as injected duplicates.
"""

from __future__ import annotations

import itertools

import numpy as np

from lucent_platform.envelope import encode, new_envelope
from lucent_platform.messages import MessageData
from lucent_platform.simulator.anomalies import Anomaly, Injection
from lucent_platform.simulator.chain import (
    CHAIN_JITTER_MS,
    ChainFeed,
    block_at,
    block_time_ms,
)
from lucent_platform.simulator.config import SimulatorConfig
from lucent_platform.simulator.draws import Draws
from lucent_platform.simulator.events import TICKER, Event, event
from lucent_platform.simulator.governance import GovernanceEngine
from lucent_platform.simulator.liquidations import LiquidationEngine
from lucent_platform.simulator.output import SimulatedMessage
from lucent_platform.simulator.prices import MarketModel

CHAIN_STREAM = 1  # the spawn key of the on-chain events' generator
CRASH_TICKERS_PER_S = 3.0  # extra tickers per venue × pair of a crashing asset
FIRST_LOG_INDEX = (5, 300)  # other protocols' logs come first in a block


class ChainEvents:
    """Liquidations and governance of one simulation, block by block."""

    def __init__(
        self,
        config: SimulatorConfig,
        model: MarketModel,
        run_id: str,
        start_ms: int,
        streams: list[tuple[str, str]],
    ) -> None:
        self.draws = Draws(np.random.SeedSequence(config.seed, spawn_key=(CHAIN_STREAM,)))
        # Venue × pair streams by base asset, for the quotes a crash adds.
        self._streams_of: dict[str, list[int]] = {}
        for i, (_, pair) in enumerate(streams):
            self._streams_of.setdefault(pair.split("-")[0], []).append(i)
        self._crash_quotes = CRASH_TICKERS_PER_S * config.rate_multiplier * config.tick_ms / 1000
        self.liquidations = LiquidationEngine(config, model, self.draws, run_id)
        self.governance = GovernanceEngine(config, self.draws, run_id)
        self._next_block = block_at(start_ms) + 1  # the first block produced after the start
        first = config.anomalies.first_events_after_ms
        self._first_ms = None if first is None else start_ms + first

    @property
    def feeds(self) -> list[ChainFeed]:
        return self.liquidations.feeds + self.governance.feeds

    def tick(self, start: int, end: int) -> list[tuple[SimulatedMessage, str]]:
        """The messages of the blocks produced in ``[start, end)``, with their message type;
        then the prices of crashing assets are set for the market's step to ``end``."""
        out: list[tuple[SimulatedMessage, str]] = []
        while (time_ms := block_time_ms(self._next_block)) < end:
            block = self._next_block
            self._next_block += 1
            first = self._first_ms is not None and time_ms >= self._first_ms
            if first:
                self._first_ms = None
            low, high = FIRST_LOG_INDEX
            log_index = itertools.count(low + self.draws.index(high - low)).__next__
            for feed, data, cascade in self.liquidations.block(block, time_ms, first, log_index):
                out.append(self._message(feed, data, time_ms, "liquidation_cascade" if cascade
                                         else None))  # fmt: skip
            for feed, step in self.governance.block(block, first, log_index):
                out.append(self._message(feed, step, time_ms, None))
        self.liquidations.move_prices(end)
        return out

    def crash_quotes(self, start: int, end: int) -> list[Event]:
        """Extra tickers in ``[start, end)`` for every stream of a crashing asset: venues quote
        faster while the price falls. Without them a quiet venue's last 50 quotes — the
        processor's outlier window — reach back half a minute, to before the fall, and a fair
        quote 4 % lower looks like an outlier."""
        crashing = self.liquidations.crashing(start)
        if not crashing:
            return []
        events = []
        for asset in crashing:
            for stream in self._streams_of.get(asset, ()):
                for _ in range(int(self.draws.rng.poisson(self._crash_quotes))):
                    events.append(event(start + self.draws.index(end - start), TICKER, stream))
        return events

    def started_cascades(self) -> list[Injection]:
        """Cascades planned since the last call."""
        started, self.liquidations.injections = self.liquidations.injections, []
        return started

    def _message(
        self, feed: ChainFeed, data: MessageData, time_ms: int, injected: Anomaly | None
    ) -> tuple[SimulatedMessage, str]:
        received = time_ms + feed.delay_ms + int(self.draws.exponential() * CHAIN_JITTER_MS)
        received = feed.last_received_ms = max(received, feed.last_received_ms)
        envelope = new_envelope(
            data,
            source=feed.source,
            event_time_ms=time_ms,
            received_time_ms=received,
            message_id=feed.next_message_id(),
        )
        message = SimulatedMessage(feed.topic, feed.key, encode(envelope), time_ms, injected,
                                   received)  # fmt: skip
        return message, data.message_type
