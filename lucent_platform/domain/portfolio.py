"""A portfolio's state, rebuilt from its stream (``portfolio-{name}``) event by event.

What the handlers decide on: the holdings rebalancing values (set by ``PortfolioOpened``,
replaced by each ``RebalanceTriggered``'s holdings after its trades), the open
recommendations sizing caps against, which opportunities already have one (so a command
handled twice recommends once), and the stream version the next append expects.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from lucent_platform.domain import events
from lucent_platform.domain.events import (
    PortfolioOpened,
    PositionRecommendationEvent,
    RebalanceTriggered,
)
from lucent_platform.eventstore import RecordedEvent


@dataclass
class Portfolio:
    name: str
    version: int | None = None  # stream position of the last event; None: no stream yet
    holdings: dict[str, float] | None = None  # asset → units; None until opened
    recommendations: dict[str, RecordedEvent] = field(default_factory=dict)  # by opportunity
    open_positions: list[PositionRecommendationEvent] = field(default_factory=list)
    last_rebalance_ms: int = 0

    def apply(self, event: RecordedEvent) -> None:
        """One more event of the stream, in order."""
        if self.version is not None and event.stream_position != self.version + 1:
            raise ValueError(
                f"{self.name}: event at {event.stream_position} after version {self.version}"
            )
        self.version = event.stream_position
        if event.type not in events.DATA_TYPES:
            return  # an event type of a newer version: skip what we cannot use
        data = events.decode_data(event.type, event.data)
        if isinstance(data, PortfolioOpened):
            self.holdings = dict(data.holdings)
        elif isinstance(data, PositionRecommendationEvent):
            self.recommendations[data.opportunity_id] = event
            self.open_positions.append(data)
        elif isinstance(data, RebalanceTriggered):
            self.holdings = dict(data.holdings_after)
            self.last_rebalance_ms = data.triggered_at_ms

    def open_shares(self, now_ms: int) -> tuple[dict[str, float], float]:
        """Shares of capital held by recommendations still open at ``now_ms``: per venue,
        and in total. Expired ones are dropped for good."""
        self.open_positions = [p for p in self.open_positions if p.expires_at_ms > now_ms]
        per_venue: defaultdict[str, float] = defaultdict(float)
        for position in self.open_positions:
            for venue in position.venues:
                per_venue[venue] += position.share
        return dict(per_venue), sum(p.share for p in self.open_positions)


def rebuild(name: str, recorded: Iterable[RecordedEvent]) -> Portfolio:
    """A portfolio from its events (all of them, from position 0)."""
    portfolio = Portfolio(name)
    for event in recorded:
        portfolio.apply(event)
    return portfolio
