"""Domain events: their types, the streams they live in, their metadata, their announcements.

This module is the one place that says what a domain event looks like; the domain handlers
(``streaming/domain``) write them, ``lucent trace`` and the agents read them.

Streams (one per aggregate; ids are the uuid5 ``opportunity_id`` of the opportunity's natural
key, so every command about one opportunity lands in one stream)::

    yield-opportunity-{opportunityId}       YieldOpportunityDetected (opening, then final)
    arbitrage-opportunity-{opportunityId}   ArbitrageOpportunityDetected
    price-alert-{ruleId}                    PriceAlertTriggered, each time the rule fires
    portfolio-{name}                        PortfolioOpened, PositionRecommendationEvent,
                                            RebalanceTriggered

Event ids are deterministic, so a command handled twice appends nothing new: an opportunity
or alert event's id IS the command's id (``commands.command_id_for``); an event a handler
derives from another (a recommendation from an opportunity) has ``derived_id(cause, kind)``.

Metadata (JSON object, camelCase, on every event; these keys and no others)::

    {"correlationId": "1d1e8b6e-…",   # the market message that started the chain (never changes)
     "causationId":   "69efb003-…",   # the id of what directly caused this event, see below
     "causationKind": "signal",       # where that id lives: "signal" | "event" | "market"
     "commandId":     "5b0c…",        # the command being handled; absent when none (a rebalance
                                      #   found by the periodic price check)
     "source": {"topic": "yield.opportunities", "partition": 0, "offset": 42}}
                                      # the Kafka record ``causationId`` names; present when
                                      #   causationKind is "signal" or "market"

``causationKind`` says where to look ``causationId`` up:

- ``"signal"``: the ``header.messageId`` of a signal record (``yield.opportunities``,
  ``arbitrage.opportunities``, ``user.alerts``) at ``source``; that envelope's own
  ``header.correlationId``/``causationId`` lead on to the market messages (``market.*.all``).
  Opportunity and alert events have this kind (their id is the command's, so the command is
  not a separate link).
- ``"event"``: the id of another event in the event store (a recommendation's cause is the
  opportunity event; a rebalance after a recommendation, that recommendation).
- ``"market"``: the ``header.messageId`` of a market message at ``source`` (the newest price a
  periodic rebalance check used, on ``market.prices.all``).

Announcements: each appended event is published once on NATS JetStream, on every subject
``announcement_subjects`` names, with header ``Nats-Msg-Id`` = the event id (a repeat is
dropped by the stream) and this body (JSON)::

    {"eventId": "…", "type": "PositionRecommendationEvent", "stream": "portfolio-main",
     "streamPosition": 3, "data": {…}, "metadata": {…}}

Data of each event type is the struct of the same name below (camelCase JSON); UTC times
are integer epoch milliseconds, money in USD.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

import msgspec

from lucent_platform import subjects

YIELD_OPPORTUNITY_DETECTED = "YieldOpportunityDetected"
ARBITRAGE_OPPORTUNITY_DETECTED = "ArbitrageOpportunityDetected"
PRICE_ALERT_TRIGGERED = "PriceAlertTriggered"
PORTFOLIO_OPENED = "PortfolioOpened"
POSITION_RECOMMENDED = "PositionRecommendationEvent"
REBALANCE_TRIGGERED = "RebalanceTriggered"

EVENT_TYPES = (
    YIELD_OPPORTUNITY_DETECTED,
    ARBITRAGE_OPPORTUNITY_DETECTED,
    PRICE_ALERT_TRIGGERED,
    PORTFOLIO_OPENED,
    POSITION_RECOMMENDED,
    REBALANCE_TRIGGERED,
)

_NAMESPACE = uuid.UUID("3f0e9a52-7c1d-4f0b-a9e4-2d6b8c5e7f31")

CausationKind = Literal["signal", "event", "market"]


# --- ids and stream names --------------------------------------------------------------------
def opportunity_id(*natural_key: object) -> str:
    """The id of an opportunity from its natural key (the same for its opening and final
    signals): yield ``(protocol, pool, windowStartMs)``, arbitrage ``(pair, buyExchange,
    sellExchange, windowStartMs)``."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(map(str, natural_key))))


def derived_id(cause_id: str, kind: str) -> uuid.UUID:
    """The id of the event of ``kind`` a handler derives from event ``cause_id``: the same on
    every retry, so the append is idempotent."""
    return uuid.uuid5(_NAMESPACE, f"{cause_id}\x1f{kind}")


def yield_opportunity_stream(opportunity: str) -> str:
    return f"yield-opportunity-{opportunity}"


def arbitrage_opportunity_stream(opportunity: str) -> str:
    return f"arbitrage-opportunity-{opportunity}"


def price_alert_stream(rule_id: str) -> str:
    return f"price-alert-{rule_id}"


def portfolio_stream(name: str) -> str:
    return f"portfolio-{name}"


# --- metadata --------------------------------------------------------------------------------
class SourceRecord(msgspec.Struct, rename="camel", frozen=True):
    """A Kafka record: where the message ``causationId`` names can be read again."""

    topic: str
    partition: int
    offset: int


class EventMetadata(msgspec.Struct, rename="camel", frozen=True, omit_defaults=True):
    """Every event's metadata (the keys in the module docstring, no others)."""

    correlation_id: str
    causation_id: str
    causation_kind: CausationKind
    command_id: str | None = None
    source: SourceRecord | None = None


# --- event data ------------------------------------------------------------------------------
class Event(msgspec.Struct, rename="camel", frozen=True, omit_defaults=True):
    """Base of every event's data."""


class YieldOpportunityDetected(Event, frozen=True):
    opportunity_id: str
    protocol: str
    pool: str
    asset: str
    chain: str
    window_start_ms: int
    window_end_ms: int
    max_apy: float  # percent
    avg_apy: float
    detected_at_ms: int  # the signal's event time
    tvl_usd: float | None = None
    apy_stdev: float | None = None
    phase: str | None = None  # "opening" | "final"


class ArbitrageOpportunityDetected(Event, frozen=True):
    opportunity_id: str
    pair: str
    buy_exchange: str
    sell_exchange: str
    buy_price: float
    sell_price: float
    spread_bps: float
    fees_bps: float
    net_profit_bps: float
    window_start_ms: int
    window_end_ms: int
    detected_at_ms: int
    size: float | None = None  # base units both top-of-book quotes allow


class PriceAlertTriggered(Event, frozen=True):
    rule_id: str
    user_id: str
    pair: str
    exchange: str
    direction: str
    target_price: float
    price: float
    triggered_at_ms: int
    rule_type: str | None = None
    level: float | None = None
    value: float | None = None


class PortfolioOpened(Event, frozen=True):
    """The portfolio's first event: capital bought at the target weights."""

    portfolio: str
    capital_usd: float
    holdings: dict[str, float]  # asset → units
    prices: dict[str, float]  # asset → USD price used
    opened_at_ms: int


class PositionRecommendationEvent(Event, frozen=True):
    """A sized position for one opportunity (``sizing.py`` documents the formula)."""

    portfolio: str
    opportunity_id: str
    opportunity_kind: str  # "yield" | "arbitrage"
    venues: list[str]  # protocol, or the arbitrage's buy and sell exchanges
    instrument: str  # pool or pair
    notional_usd: float
    share: float  # notional / capital
    kelly_share: float  # kellyFraction × edge / volatility², before the caps
    edge: float  # expected return per unit (yield: per year; arbitrage: per trade)
    volatility: float  # its standard deviation over the same horizon
    limited_by: str  # "kelly" | "venue_cap" | "risk_budget" | "liquidity"
    recommended_at_ms: int
    expires_at_ms: int  # counts against the caps until then


class RebalanceTriggered(Event, frozen=True):
    """Drift from the target weights over the threshold: the trades back to target, and the
    holdings after them (the portfolio is valued from those from now on)."""

    portfolio: str
    drift: float  # largest |weight - target| (weight points, 0.07 = 7 points)
    threshold: float
    value_usd: float
    weights: dict[str, float]  # asset → weight before
    targets: dict[str, float]
    prices: dict[str, float]
    trades: dict[str, float]  # asset → units to buy (+) or sell (-)
    holdings_after: dict[str, float]
    triggered_at_ms: int


DATA_TYPES: dict[str, type[Event]] = {
    YIELD_OPPORTUNITY_DETECTED: YieldOpportunityDetected,
    ARBITRAGE_OPPORTUNITY_DETECTED: ArbitrageOpportunityDetected,
    PRICE_ALERT_TRIGGERED: PriceAlertTriggered,
    PORTFOLIO_OPENED: PortfolioOpened,
    POSITION_RECOMMENDED: PositionRecommendationEvent,
    REBALANCE_TRIGGERED: RebalanceTriggered,
}
"""Event type name → the struct of its data."""

_encode = msgspec.json.Encoder().encode
_metadata_decoder = msgspec.json.Decoder(EventMetadata)


def encode(value: Event | EventMetadata) -> bytes:
    return _encode(value)


def decode_data(event_type: str, data: bytes) -> Event:
    """An event's data as its struct; ``KeyError`` for an unknown type."""
    return msgspec.json.decode(data, type=DATA_TYPES[event_type])


def decode_metadata(metadata: bytes) -> EventMetadata:
    return _metadata_decoder.decode(metadata)


# --- announcements ---------------------------------------------------------------------------
def announcement_subjects(event_type: str, data: Event, owner: str | None = None) -> list[str]:
    """Where an appended event is announced: the trading engine (recommendations, rebalances),
    AI agents (every event, ``agents.signals.{type}``), and users (``notify.user.{id}``: the
    alert's user; the portfolio's ``owner`` for portfolio events)."""
    out: list[str] = []
    if event_type == POSITION_RECOMMENDED:
        out.append(subjects.TRADING_POSITION_RECOMMENDED)
    elif event_type == REBALANCE_TRIGGERED:
        out.append(subjects.TRADING_REBALANCE_TRIGGERED)
    out.append(subjects.agents_signal(event_type))
    if isinstance(data, PriceAlertTriggered):
        out.append(subjects.notify_user(data.user_id))
    elif owner and event_type in (PORTFOLIO_OPENED, POSITION_RECOMMENDED, REBALANCE_TRIGGERED):
        out.append(subjects.notify_user(owner))
    return out


def announcement(
    event_id: str,
    event_type: str,
    stream: str,
    stream_position: int,
    data: bytes,
    metadata: bytes,
) -> bytes:
    """The JSON body an event is announced with (module docstring)."""
    body: dict[str, Any] = {
        "eventId": event_id,
        "type": event_type,
        "stream": stream,
        "streamPosition": stream_position,
        "data": msgspec.Raw(data),
        "metadata": msgspec.Raw(metadata),
    }
    return _encode(body)
