"""Injected anomalies: what the simulator gets wrong on purpose, so downstream checks fire.

Six kinds, each at its own rate (``AnomalyRates``) and each flagged on the messages that
carry it (``SimulatedMessage.injected``) and logged as an ``Injection``:

- ``arbitrage_gap``: one venue's quotes for a pair jump 0.7-1.5 % for a few seconds (every
  message of that venue and pair meanwhile is flagged);
- ``apy_spike``: a pool's APY jumps above 5 % for a few minutes (its updates are flagged);
- ``outlier``: a single absurd ticker: prices ×10 or ÷10, or a crossed quote (bid above ask,
  negative spread). Order books are never crossed;
- ``duplicate``: a recent message re-emitted byte for byte (same message id);
- ``late``: a ticker or trade whose event time lies minutes behind the clock;
- ``malformed``: bytes that are no envelope: truncated JSON, a wrong type, garbage bytes, a
  missing required field.

A seventh, ``liquidation_cascade`` (a collateral asset crashes while several liquidations
of it hit one market), is drawn apart: see ``simulator.liquidations``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from lucent_platform.messages import PriceUpdate
from lucent_platform.simulator.config import AnomalyRates
from lucent_platform.simulator.draws import Draws

Anomaly = Literal[
    "arbitrage_gap",
    "apy_spike",
    "outlier",
    "duplicate",
    "late",
    "malformed",
    "liquidation_cascade",
]
# ``liquidation_cascade`` is not among these: cascades come from the on-chain events' own
# random numbers (simulator.liquidations), so adding them left every other draw as it was.
ANOMALIES: tuple[Anomaly, ...] = (
    "arbitrage_gap",
    "apy_spike",
    "outlier",
    "duplicate",
    "late",
    "malformed",
)
OUTLIER_VARIANTS = ("x10", "x0.1", "crossed")
MALFORMED_VARIANTS = ("truncated", "wrong_type", "garbage", "missing_field")
CROSSED_BY = 0.003  # a crossed outlier quotes its bid 0.3 % above its ask


@dataclass(frozen=True)
class Injection:
    """One injected anomaly: what, when (``[start_ms, end_ms)``, event time), where, how."""

    kind: Anomaly
    start_ms: int
    end_ms: int
    topic: str
    detail: str


def rates_per_tick(rates: AnomalyRates, rate_multiplier: float, tick_ms: int) -> list[float]:
    """Expected starts of each anomaly kind (in ``ANOMALIES`` order) in one simulation tick."""
    per_tick = tick_ms / 60_000
    message_level = per_tick * rate_multiplier
    return [
        rates.arbitrage_gap * per_tick,
        rates.apy_spike * per_tick,
        rates.outlier * message_level,
        rates.duplicate * message_level,
        rates.late * message_level,
        rates.malformed * message_level,
    ]


def outlier_update(update: PriceUpdate, variant: str) -> PriceUpdate:
    """A single absurd ticker made from a normal one (``variant`` from ``OUTLIER_VARIANTS``)."""
    bid = update.bid if update.bid is not None else update.price
    ask = update.ask if update.ask is not None else update.price
    if variant == "crossed":
        bid = round(update.price * (1 + CROSSED_BY / 2), 8)
        ask = round(update.price * (1 - CROSSED_BY / 2), 8)
        return msgspec.structs.replace(update, bid=bid, ask=ask, spread=round(ask - bid, 8))
    factor = 10.0 if variant == "x10" else 0.1
    return msgspec.structs.replace(
        update,
        price=round(update.price * factor, 8),
        bid=round(bid * factor, 8),
        ask=round(ask * factor, 8),
        spread=round((ask - bid) * factor, 8),
    )


def malformed_frame(frame: bytes, variant: str, draws: Draws) -> bytes:
    """Bytes that fail envelope decoding, made from a valid price-update ``frame``."""
    if variant == "truncated":
        # A strict prefix of a JSON object never parses: its closing brace is the last byte.
        return frame[: int(len(frame) * draws.between(0.3, 0.95))]
    if variant == "garbage":
        # 0xFF never occurs in UTF-8, so this is never JSON.
        return b"\xff" + draws.rng.bytes(16 + int(draws.uniform() * 200))
    document: dict[str, Any] = msgspec.json.decode(frame)
    if variant == "wrong_type":
        document["data"]["price"] = str(document["data"]["price"])
    else:  # missing_field: a price update without its price
        del document["data"]["price"]
    return msgspec.json.encode(document)
