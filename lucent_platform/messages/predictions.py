"""Model predictions AI agents publish, as the platform records them (``model_prediction``).

Agents publish a prediction on NATS ``agents.predictions.{model}.{pair}`` (the predictions
worker, ``lucent worker predictions``, is one such agent); ``lucent worker agents`` records each
valid one on the Kafka topic ``agents.predictions`` in this envelope, and the ClickHouse sink
stores it in ``model_predictions`` for later evaluation against what the market did.

The payload on NATS is exactly this ``data``: the predictions worker's own message, plus the
optional ``value`` (a regression target) and ``publishedAtMs``. A classifier's prediction::

    {"model": "baseline", "version": "model-20261128T230102123456Z.joblib",
     "pair": "BTC-USDT", "time": 1795132860000, "interval": "1m", "horizon": 5,
     "probabilityUp": 0.534, "close": 60012.35}

``time`` is the features' time (UTC ms): the prediction used only data before it, and is about
``horizon`` bars (of ``interval``) after it. At least one of ``probabilityUp`` (0..1) and
``value`` is given.
"""

from __future__ import annotations

from lucent_platform.messages.base import Int64, MessageData


class ModelPrediction(MessageData, frozen=True):
    """One model's prediction for one pair at one features time."""

    message_type = "model_prediction"

    model: str
    pair: str
    time: Int64
    horizon: Int64
    version: str | None = None
    interval: str | None = None
    probability_up: float | None = None
    value: float | None = None
    close: float | None = None  # the pair's price at ``time``, the baseline of the horizon
    published_at_ms: Int64 | None = None
