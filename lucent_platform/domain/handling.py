"""What the domain handlers append, decided without I/O: plans the edges carry out.

- ``signal_event``: a command → its opportunity or alert event, for the opportunity's (or
  alert rule's) stream; its id is the command's id, so handling a command twice appends once.
- ``recommendation``: an opportunity event → the ``PositionRecommendationEvent`` for the
  portfolio's stream (``sizing.py``), unless the portfolio already has one for it.
- ``portfolio_check``: live prices → ``PortfolioOpened`` (first valuation) or
  ``RebalanceTriggered`` (``rebalance.py``).

Each plan carries the event's metadata as ``events.py`` defines it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from lucent_platform import subjects
from lucent_platform.domain import events, rebalance, sizing
from lucent_platform.domain.commands import Command
from lucent_platform.domain.config import DomainConfig
from lucent_platform.domain.events import (
    ArbitrageOpportunityDetected,
    Event,
    EventMetadata,
    PriceAlertTriggered,
    SourceRecord,
    YieldOpportunityDetected,
)
from lucent_platform.domain.portfolio import Portfolio
from lucent_platform.domain.prices import Valuation
from lucent_platform.envelope import EnvelopeError, decode
from lucent_platform.eventstore import NewEvent
from lucent_platform.messages import ArbitrageOpportunity, PriceAlert, YieldOpportunity


class CommandInvalid(ValueError):
    """A command whose signal is not what its type says (never retried)."""


@dataclass(frozen=True, slots=True)
class Planned:
    """An event to append to ``stream``."""

    stream: str
    id: uuid.UUID
    type: str
    data: Event
    metadata: EventMetadata

    def new_event(self) -> NewEvent:
        return NewEvent(self.type, events.encode(self.data), events.encode(self.metadata), self.id)


def signal_event(command: Command) -> Planned:
    """The opportunity or alert event a command asks to record."""
    try:
        envelope = decode(command.signal)
    except EnvelopeError as exc:
        raise CommandInvalid(f"command {command.command_id}: {exc.reason}") from None
    signal, at_ms = envelope.data, envelope.header.event_time_ms
    data: Event
    if isinstance(signal, YieldOpportunity):
        opportunity = events.opportunity_id(signal.protocol, signal.pool, signal.window_start_ms)
        stream = events.yield_opportunity_stream(opportunity)
        data = YieldOpportunityDetected(
            opportunity_id=opportunity, protocol=signal.protocol, pool=signal.pool,
            asset=signal.asset, chain=signal.chain, window_start_ms=signal.window_start_ms,
            window_end_ms=signal.window_end_ms, max_apy=signal.max_apy, avg_apy=signal.avg_apy,
            detected_at_ms=at_ms, tvl_usd=signal.tvl_usd, apy_stdev=signal.apy_stdev,
            phase=signal.phase,
        )  # fmt: skip
        kind = events.YIELD_OPPORTUNITY_DETECTED
    elif isinstance(signal, ArbitrageOpportunity):
        opportunity = events.opportunity_id(
            signal.pair, signal.buy_exchange, signal.sell_exchange, signal.window_start_ms
        )
        stream = events.arbitrage_opportunity_stream(opportunity)
        data = ArbitrageOpportunityDetected(
            opportunity_id=opportunity, pair=signal.pair, buy_exchange=signal.buy_exchange,
            sell_exchange=signal.sell_exchange, buy_price=signal.buy_price,
            sell_price=signal.sell_price, spread_bps=signal.spread_bps, fees_bps=signal.fees_bps,
            net_profit_bps=signal.net_profit_bps, window_start_ms=signal.window_start_ms,
            window_end_ms=signal.window_end_ms, detected_at_ms=at_ms, size=signal.size,
        )  # fmt: skip
        kind = events.ARBITRAGE_OPPORTUNITY_DETECTED
    elif isinstance(signal, PriceAlert):
        try:  # it is announced on notify.user.{id}: refuse it now, not when announcing
            subjects.token(signal.user_id)
        except subjects.SubjectTokenError as exc:
            raise CommandInvalid(f"command {command.command_id}: {exc}") from None
        stream = events.price_alert_stream(signal.rule_id)
        data = PriceAlertTriggered(
            rule_id=signal.rule_id, user_id=signal.user_id, pair=signal.pair,
            exchange=signal.exchange, direction=signal.direction,
            target_price=signal.target_price, price=signal.price, triggered_at_ms=at_ms,
            rule_type=signal.rule_type, level=signal.level, value=signal.value,
        )  # fmt: skip
        kind = events.PRICE_ALERT_TRIGGERED
    else:
        raise CommandInvalid(
            f"command {command.command_id}: {envelope.header.message_type} is no domain signal"
        )
    source = command.source
    metadata = EventMetadata(
        correlation_id=command.correlation_id,
        causation_id=command.causation_id,
        causation_kind="signal",
        command_id=command.command_id,
        source=SourceRecord(source.topic, source.partition, source.offset),
    )
    return Planned(stream, uuid.UUID(command.command_id), kind, data, metadata)


def recommendation(
    config: DomainConfig, portfolio: Portfolio, cause: Planned, now_ms: int
) -> Planned | None:
    """The position for the opportunity ``cause`` records, or None (not an opportunity,
    already recommended, or under the minimum)."""
    if isinstance(cause.data, YieldOpportunityDetected):
        opportunity = sizing.yield_opportunity(config, cause.data)
    elif isinstance(cause.data, ArbitrageOpportunityDetected):
        opportunity = sizing.arbitrage_opportunity(config, cause.data)
    else:
        return None
    if opportunity.id in portfolio.recommendations:
        return None
    venue_shares, open_share = portfolio.open_shares(now_ms)
    sized = sizing.size_position(config, opportunity, venue_shares, open_share)
    if sized is None:
        return None
    data = events.PositionRecommendationEvent(
        portfolio=config.portfolio, opportunity_id=opportunity.id,
        opportunity_kind=opportunity.kind, venues=list(opportunity.venues),
        instrument=opportunity.instrument, notional_usd=sized.notional_usd, share=sized.share,
        kelly_share=sized.kelly_share, edge=opportunity.edge, volatility=opportunity.volatility,
        limited_by=sized.limited_by, recommended_at_ms=now_ms,
        expires_at_ms=now_ms + opportunity.horizon_ms,
    )  # fmt: skip
    metadata = EventMetadata(
        correlation_id=cause.metadata.correlation_id,
        causation_id=str(cause.id),
        causation_kind="event",
        command_id=cause.metadata.command_id,
    )
    return Planned(
        events.portfolio_stream(config.portfolio),
        events.derived_id(str(cause.id), events.POSITION_RECOMMENDED),
        events.POSITION_RECOMMENDED,
        data,
        metadata,
    )


def portfolio_check(
    config: DomainConfig, portfolio: Portfolio, valuation: Valuation, now_ms: int
) -> Planned | None:
    """Open the portfolio at the first valuation; afterwards, rebalance when it drifted."""
    data: Event | None
    if portfolio.holdings is None:
        data, kind = (
            rebalance.open_at_targets(config, valuation.prices, now_ms),
            events.PORTFOLIO_OPENED,
        )
    else:
        data = rebalance.check_drift(config, portfolio.holdings, valuation.prices, now_ms)
        kind = events.REBALANCE_TRIGGERED
    if data is None:
        return None
    newest = valuation.newest
    if newest is None:  # only stablecoins: no market message caused it
        cause, source = f"{config.portfolio}@{now_ms}", None
    else:
        cause, source = newest.message_id, newest.source
    metadata = EventMetadata(
        correlation_id=cause, causation_id=cause, causation_kind="market", source=source
    )
    # Deterministic per (portfolio version, kind): two handlers checking the same state
    # plan the same event, and the loser of the race finds it already appended.
    event_id = events.derived_id(f"{config.portfolio}:{portfolio.version}", kind)
    return Planned(events.portfolio_stream(config.portfolio), event_id, kind, data, metadata)
