"""The NATS subject catalog: every JetStream stream and subject name lives here.

Subjects are hierarchical (the design record): ``{domain}.{entity}.{event}``, with wildcards
only in stream definitions and subscriptions. Market signals enter NATS through the bridge as
commands (``yield.opportunity.detected`` …); the domain handlers announce what they appended
for the trading engine (``trading.>``), AI agents (``agents.>``) and users (``notify.>``).

    StreamSpec("SIGNALS", ("yield.opportunity.>", ...))   # provisioned by Dagster and `lucent up`
    notify_user("u-42")                                    # "notify.user.u-42"

Variable parts pass through ``token``: a subject token can never contain ``.``, ``*``, ``>``
or whitespace, so a pair or user id can never widen a subscription.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DAY_S = 24 * 60 * 60

# --- commands from the market → domain bridge ------------------------------------------------
YIELD_OPPORTUNITY_DETECTED = "yield.opportunity.detected"
ARBITRAGE_OPPORTUNITY_DETECTED = "arbitrage.opportunity.detected"
ALERT_TRIGGERED = "alert.triggered"

# --- announcements of appended domain events -------------------------------------------------
TRADING_POSITION_RECOMMENDED = "trading.position.recommended"
TRADING_REBALANCE_TRIGGERED = "trading.rebalance.triggered"
AGENTS_SIGNALS = "agents.signals"  # agents.signals.{event type}

# --- data-quality alerts of the stream monitor -----------------------------------------------
MONITORING_ALERTS = "monitoring.alerts"  # monitoring.alerts.{kind}

_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
_SEPARATORS = str.maketrans({"/": "-", ":": "-", " ": "-"})


class SubjectTokenError(ValueError):
    """A variable part cannot be one subject token."""


def token(value: str) -> str:
    """One subject token: ``ETH/USDC`` → ``ETH-USDC``; wildcards and dots are an error."""
    cleaned = value.strip().translate(_SEPARATORS)
    if not _TOKEN.fullmatch(cleaned):
        raise SubjectTokenError(
            f"{value!r} cannot be a NATS subject token: use letters, digits, '-' or '_'"
        )
    return cleaned


def agents_signal(event_type: str) -> str:
    return f"{AGENTS_SIGNALS}.{token(event_type)}"


def notify_user(user_id: str) -> str:
    return f"notify.user.{token(user_id)}"


def monitoring_alert(kind: str) -> str:
    """``monitoring.alerts.stale_source`` and so on: one subject per alert kind."""
    return f"{MONITORING_ALERTS}.{token(kind)}"


def agents_query_price(pair: str) -> str:
    return f"agents.query.price.{token(pair)}"


def agents_query_features(pair: str) -> str:
    return f"agents.query.features.{token(pair)}"


def agents_predictions(model: str, pair: str) -> str:
    return f"agents.predictions.{token(model)}.{token(pair)}"


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """One JetStream stream: its subjects and retention. Replicas come from the settings."""

    name: str
    subjects: tuple[str, ...]
    description: str
    max_age_s: int = 7 * DAY_S
    duplicate_window_s: int = 120  # Nats-Msg-Id de-duplication horizon


STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec(
        "SIGNALS",
        ("yield.opportunity.>", "arbitrage.opportunity.>", "alert.>"),
        "Commands from the market → domain bridge, one per signal record.",
    ),
    StreamSpec(
        "TRADING",
        ("trading.>",),
        "Position recommendations and rebalances for the trading engine.",
    ),
    StreamSpec(
        "AGENTS",
        ("agents.signals.>", "agents.predictions.>"),
        "Signals announced to AI agents, and the agents' model predictions.",
    ),
    StreamSpec(
        "NOTIFY",
        ("notify.>",),
        "User notifications.",
        max_age_s=30 * DAY_S,
    ),
    StreamSpec(
        "MONITORING",
        ("monitoring.>",),
        "Data-quality alerts of the stream monitor, opened and resolved.",
        max_age_s=30 * DAY_S,
    ),
)
