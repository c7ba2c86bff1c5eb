"""The market → domain bridge's decision: one signal record in, one command (or a dead letter).

Pure: ``streaming/bridge`` reads the records from Kafka, publishes the commands to JetStream
and the dead letters to ``market.deadletter``. A record becomes a command when it is an
envelope of the kind its topic carries (``yield_opportunity`` on ``yield.opportunities``, …);
anything else is dead-lettered with the reason (``undecodable``, ``unknown_kind``,
``wrong_topic``), the way the processor does it (``processing/deadletter.py``).
"""

from __future__ import annotations

import msgspec

from lucent_platform import topics
from lucent_platform.domain.commands import SUBJECT_FOR_TOPIC, Command, SourceRecord, command_id_for
from lucent_platform.envelope import EnvelopeError, decode
from lucent_platform.messages import ArbitrageOpportunity, MessageData, PriceAlert, YieldOpportunity
from lucent_platform.processing.deadletter import DeadLetter, Reason

KIND_FOR_TOPIC: dict[str, type[MessageData]] = {
    topics.YIELD_OPPORTUNITIES: YieldOpportunity,
    topics.ARBITRAGE_OPPORTUNITIES: ArbitrageOpportunity,
    topics.USER_ALERTS: PriceAlert,
}
"""The message kind each signal topic carries (the bridge reads ``SUBJECT_FOR_TOPIC``'s)."""


class Rejected(ValueError):
    """A signal record that cannot become a command: dead-letter it with ``reason``."""

    def __init__(
        self,
        reason: Reason,
        detail: str,
        *,
        message_id: str | None = None,
        message_type: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.message_id = message_id
        self.message_type = message_type


def command_for(
    topic: str, partition: int, offset: int, value: bytes | None, now_ms: int
) -> Command:
    """The command for one signal record; raises ``Rejected``.

    ``correlationId`` is the signal's own ``header.correlationId`` (the market message that
    caused it), or its message id when it has none; ``causationId`` is its message id.
    """
    kind = KIND_FOR_TOPIC.get(topic)
    subject = SUBJECT_FOR_TOPIC.get(topic)
    if kind is None or subject is None:
        raise Rejected(Reason.WRONG_TOPIC, f"the bridge does not read {topic!r}")
    if value is None:
        raise Rejected(Reason.UNDECODABLE, "record has no value")
    try:
        envelope = decode(value, likely=kind)
    except EnvelopeError as exc:
        reason = Reason.UNKNOWN_KIND if "unknown messageType" in exc.reason else Reason.UNDECODABLE
        raise Rejected(reason, exc.reason, message_type=exc.message_type) from None
    header = envelope.header
    if header.message_type != kind.message_type:
        raise Rejected(
            Reason.WRONG_TOPIC,
            f"{topic} carries {kind.message_type}, not {header.message_type}",
            message_id=header.message_id,
            message_type=header.message_type,
        )
    return Command(
        command_id=command_id_for(header.message_id),
        type=subject,
        correlation_id=header.correlation_id or header.message_id,
        causation_id=header.message_id,
        issued_at_ms=now_ms,
        source=SourceRecord(topic, partition, offset),
        signal=msgspec.Raw(bytes(value)),
    )


def dead_letter(
    rejected: Rejected,
    topic: str,
    partition: int,
    offset: int,
    timestamp_ms: int,
    value: bytes | None,
    now_ms: int,
) -> DeadLetter:
    return DeadLetter(
        reason=str(rejected.reason),
        detail=rejected.detail,
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        source_timestamp_ms=timestamp_ms,
        dead_lettered_at_ms=now_ms,
        original_base64=value or b"",
        message_id=rejected.message_id,
        message_type=rejected.message_type,
        original_null=value is None,
    )
