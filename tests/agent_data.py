"""Enriched price updates and predictions as the agents service receives them, for tests."""

from __future__ import annotations

from typing import Any

import msgspec

from lucent_platform.envelope import Envelope, encode, message_id_for, new_envelope
from lucent_platform.messages import (
    BookDepth,
    CrossVenueSpread,
    Liquidity,
    ModelPrediction,
    MovingAverage,
    PriceEnrichment,
    PriceUpdate,
)

T0 = 1_795_132_860_000


def enrichment(price: float, exchange: str) -> PriceEnrichment:
    """Figures as the processor writes them (distinct per venue and price)."""
    return PriceEnrichment(
        moving_averages=[MovingAverage(20, price - 1.0, price - 0.5)],
        volatility=0.0001 * (1 + len(exchange)),
        volatility_window=50,
        cross_venue=CrossVenueSpread("kraken", price + 2.0, "coinbase", price + 3.0, 0.6, -1.5),
        depth=BookDepth(10.0, price, 7.8, 6.9, 210),
    )


def quote(
    pair: str, exchange: str, price: float, at_ms: int, *, spread: float = 1.0,
    enriched: bool = True,
) -> Envelope[PriceUpdate]:  # fmt: skip
    data = PriceUpdate(
        exchange=exchange, pair=pair, price=price, bid=price - spread / 2,
        ask=price + spread / 2, spread=spread, liquidity=Liquidity(1.5, 2.5),
        enrichment=enrichment(price, exchange) if enriched else None,
    )  # fmt: skip
    return new_envelope(
        data, source=f"{exchange}-test", event_time_ms=at_ms, received_time_ms=at_ms + 5,
        message_id=message_id_for(exchange, pair, at_ms),
    )  # fmt: skip


def quote_bytes(*args: Any, **kwargs: Any) -> bytes:
    return encode(quote(*args, **kwargs))


def prediction(model: str, pair: str, at_ms: int = T0, **changes: Any) -> ModelPrediction:
    fields: dict[str, Any] = dict(
        model=model, pair=pair, time=at_ms, horizon=5, version="model-1.joblib",
        interval="1m", probability_up=0.534, close=60012.35,
    )  # fmt: skip
    fields.update(changes)
    return ModelPrediction(**fields)


def prediction_bytes(*args: Any, **kwargs: Any) -> bytes:
    return msgspec.json.encode(prediction(*args, **kwargs))
