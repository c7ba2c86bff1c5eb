"""Commands: what the market → domain bridge publishes on NATS for each signal record.

One command per record of ``yield.opportunities``, ``arbitrage.opportunities`` and
``user.alerts``, on the subject of its kind (``lucent_platform.subjects``). As it travels
(JSON, camelCase, like the envelopes)::

    {"commandId": "5b0c…", "type": "yield.opportunity.detected",
     "correlationId": "1d1e8b6e-…",      # the market message that caused the signal
     "causationId": "69efb003-…",        # the signal record's own message id
     "issuedAtMs": 1795901497419,
     "source": {"topic": "yield.opportunities", "partition": 0, "offset": 42},
     "signal": {"header": {…}, "data": {…}, "metadata": {…}}}   # the envelope as it was

``commandId`` is derived from the signal's message id (``command_id_for``), so a record read
twice (a replay, an at-least-once repeat) gives the same id; the bridge sends it as
``Nats-Msg-Id`` (JetStream drops the repeat within the stream's duplicate window) and the
handlers use it as the appended event's id (the event store ignores a repeated append).

Correlation and causation follow the usual event-sourcing rule: ``correlationId`` stays the
id of the market message that started the chain, in every command and event after it;
``causationId`` is the id of the message, command or event directly before.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from lucent_platform import subjects, topics

_NAMESPACE = uuid.UUID("0b8f6f0e-4a55-4f79-9d31-6c5f1f3f2a10")

SUBJECT_FOR_TOPIC: dict[str, str] = {
    topics.YIELD_OPPORTUNITIES: subjects.YIELD_OPPORTUNITY_DETECTED,
    topics.ARBITRAGE_OPPORTUNITIES: subjects.ARBITRAGE_OPPORTUNITY_DETECTED,
    topics.USER_ALERTS: subjects.ALERT_TRIGGERED,
}
"""The signal topics the bridge reads, and the subject each one's commands go to."""


class SourceRecord(msgspec.Struct, rename="camel", frozen=True):
    """Where the signal record was read: enough to find it again in Kafka."""

    topic: str
    partition: int
    offset: int


class Command(msgspec.Struct, rename="camel", frozen=True):
    """A domain command built from one signal record."""

    command_id: str
    type: str
    correlation_id: str
    causation_id: str
    issued_at_ms: int
    source: SourceRecord
    signal: msgspec.Raw  # the signal's envelope, byte for byte


def command_id_for(signal_message_id: str) -> str:
    """The command's id: the same for the same signal record, whoever reads it."""
    return str(uuid.uuid5(_NAMESPACE, signal_message_id))


encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Command).decode


def decode(value: bytes) -> Command:
    """A command from its JSON; raises ``msgspec.DecodeError``/``ValidationError`` naming
    what is wrong."""
    return _decode(value)


def signal_of(command: Command) -> dict[str, Any]:
    """The signal envelope the command carries, as plain JSON values."""
    decoded: dict[str, Any] = msgspec.json.decode(command.signal)
    return decoded
