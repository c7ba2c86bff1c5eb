"""Predictions agents publish on ``agents.predictions.{model}.{pair}``, checked and enveloped.

The payload is a ``ModelPrediction`` as JSON (``lucent_platform.messages.predictions``; the
predictions worker's message is one)::

    agents.predictions.baseline.BTC-USDT
    {"model": "baseline", "version": "model-20261128T230102123456Z.joblib", "pair": "BTC-USDT",
     "time": 1795132860000, "interval": "1m", "horizon": 5, "probabilityUp": 0.534,
     "close": 60012.35}

``record`` returns the envelope the platform stores (Kafka ``agents.predictions``, ClickHouse
``model_predictions``) or raises ``PredictionRejected`` with a reason for the dead letter:
the subject must name the payload's model and pair, numbers must be finite, a probability
within 0..1, and the prediction must say something (``probabilityUp`` or ``value``).

The message id is derived from model, version, pair, features time and horizon, so a
prediction published twice, or recorded twice after a crash, is one row.
"""

from __future__ import annotations

import math
from enum import StrEnum

import msgspec

from lucent_platform import subjects
from lucent_platform.envelope import Envelope, message_id_for, new_envelope
from lucent_platform.messages import ModelPrediction
from lucent_platform.processing.deadletter import DeadLetter

SOURCE = "agents"
"""``header.source`` of recorded predictions."""

PREFIX = "agents.predictions."


class Rejection(StrEnum):
    """Why a published prediction was not recorded (the dead letter's ``reason``)."""

    BAD_SUBJECT = "bad_subject"  # not agents.predictions.{model}.{pair}
    UNDECODABLE = "undecodable"  # not JSON, or not a prediction (missing/mistyped field)
    SUBJECT_MISMATCH = "subject_mismatch"  # the subject names another model or pair
    INVALID_PREDICTION = "invalid_prediction"  # no figure, a figure out of range or not finite


class PredictionRejected(ValueError):
    def __init__(self, reason: Rejection, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


_decode = msgspec.json.Decoder(ModelPrediction).decode


def record(subject: str, payload: bytes, received_ms: int) -> Envelope[ModelPrediction]:
    """The envelope of a published prediction, or ``PredictionRejected`` saying why not."""
    model, pair = _subject_parts(subject)
    try:
        prediction = _decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
        raise PredictionRejected(Rejection.UNDECODABLE, str(exc)) from None
    _check(prediction, model, pair)
    message_id = message_id_for(
        "prediction", prediction.model, prediction.version or "", prediction.pair,
        prediction.time, prediction.horizon,
    )  # fmt: skip
    return new_envelope(
        prediction,
        source=SOURCE,
        event_time_ms=prediction.time,
        received_time_ms=received_ms,
        message_id=message_id,
    )


def _subject_parts(subject: str) -> tuple[str, str]:
    rest = subject.removeprefix(PREFIX)
    parts = rest.split(".")
    if rest == subject or len(parts) != 2 or not all(parts):
        raise PredictionRejected(
            Rejection.BAD_SUBJECT, f"{subject!r} is not {PREFIX}{{model}}.{{pair}}"
        )
    return parts[0], parts[1]


def _check(prediction: ModelPrediction, model: str, pair: str) -> None:
    for name, wanted in (("model", model), ("pair", pair)):
        value = getattr(prediction, name)
        try:
            same = subjects.token(value) == wanted
        except subjects.SubjectTokenError:
            same = False
        if not same:
            raise PredictionRejected(
                Rejection.SUBJECT_MISMATCH, f"{name} {value!r} published on {model}.{pair}"
            )
    p, value = prediction.probability_up, prediction.value
    if p is None and value is None:
        raise PredictionRejected(
            Rejection.INVALID_PREDICTION, "neither probabilityUp nor value is given"
        )
    if p is not None and not 0.0 <= p <= 1.0:  # NaN fails too
        raise PredictionRejected(Rejection.INVALID_PREDICTION, f"probabilityUp {p} is outside 0..1")
    for name in ("value", "close"):
        figure = getattr(prediction, name)
        if figure is not None and not math.isfinite(figure):
            raise PredictionRejected(Rejection.INVALID_PREDICTION, f"{name} {figure} is not finite")
    if prediction.horizon < 1:
        raise PredictionRejected(
            Rejection.INVALID_PREDICTION, f"horizon {prediction.horizon} is not positive"
        )
    if prediction.time <= 0:
        raise PredictionRejected(
            Rejection.INVALID_PREDICTION, f"time {prediction.time} is not a time"
        )


def dead_letter(
    subject: str, sequence: int, payload: bytes, problem: PredictionRejected, now_ms: int
) -> DeadLetter:
    """The ``market.deadletter`` record of a rejected prediction: the subject as its source
    topic and the JetStream stream sequence as its offset, so anyone can find it again."""
    return DeadLetter(
        reason=str(problem.reason),
        detail=problem.detail[:1000],
        source_topic=subject,
        source_partition=0,
        source_offset=sequence,
        source_timestamp_ms=now_ms,
        dead_lettered_at_ms=now_ms,
        original_base64=payload,
        message_type=ModelPrediction.message_type,
    )
