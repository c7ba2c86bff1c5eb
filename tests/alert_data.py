"""Scripted price updates and rules for the alert engine's tests."""

from __future__ import annotations

from typing import Any

import msgspec

from lucent_platform.envelope import encode, message_id_for, new_envelope
from lucent_platform.messages import PriceAlert, PriceUpdate
from lucent_platform.signals.apps.alert_rules import encode_rule, make_rule

T0 = 1_756_809_000_000


def quote(
    n: int, price: float, *, exchange: str = "binance", pair: str = "ETH-USDC",
    t: int | None = None, bid: float | None = None, ask: float | None = None,
) -> bytes:  # fmt: skip
    """The ``n``-th scripted quote (event time T0 + n s unless ``t``), with a stable id."""
    event_ms = T0 + n * 1000 if t is None else t
    data = PriceUpdate(exchange=exchange, pair=pair, price=price, bid=bid, ask=ask)
    return encode(new_envelope(
        data, source="test", event_time_ms=event_ms, received_time_ms=event_ms + 5,
        message_id=message_id_for("quote", exchange, pair, n),
    ))  # fmt: skip


def rule(**fields: Any) -> bytes:
    return encode_rule(make_rule(**fields))


def alerts(values: list[bytes]) -> list[tuple[str, str, str, float, str]]:
    """(rule id, user, exchange, price, correlation id) per alert, in order."""
    out = []
    for v in values:
        envelope = msgspec.json.decode(v)
        alert = msgspec.convert(envelope["data"], PriceAlert)
        out.append((alert.rule_id, alert.user_id, alert.exchange, alert.price,
                    envelope["header"]["correlationId"]))  # fmt: skip
    return out


def quote_id(n: int, exchange: str = "binance", pair: str = "ETH-USDC") -> str:
    return message_id_for("quote", exchange, pair, n)
