"""The causal chain of a domain event, walked over its metadata (``domain.events``).

From the event asked about, ``causationKind`` says where its cause lives: ``"event"`` — another
event in the store, walked in turn; ``"signal"`` — a signal record (``yield.opportunities`` …)
at ``source``, whose envelope's ``correlationId``/``causationId`` name the market messages;
``"market"`` — a market message at ``source``. The chain ends at the market messages, read
from ClickHouse by message id (``prices``, ``yields`` …) and from Kafka where ``source`` says.
A link that cannot be found is kept, with a note saying where it was looked for, so a chain
is never silently cut short.

    chain = walk("5b0c…", lookups)    # [event, (event …), command, signal, market …]

Pure: every read goes through the ``Lookups`` protocol (``tracing.lookups`` is the real one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec

from lucent_platform import subjects
from lucent_platform.analytics.rows import TABLE_FOR_TYPE
from lucent_platform.domain import commands, events
from lucent_platform.envelope import Envelope, EnvelopeError, decode
from lucent_platform.eventstore import RecordedEvent
from lucent_platform.messages import ArbitrageOpportunity, PriceAlert, YieldOpportunity

SIGNAL_TABLES = ("yield_opportunities", "arbitrage_opportunities", "price_alerts",
                 "liquidation_cascades")  # fmt: skip
MARKET_TABLES = ("prices", "yields", "trades", "liquidations", "orderbook_top", "governance")
SUBJECT_FOR_KIND = {
    YieldOpportunity.message_type: subjects.YIELD_OPPORTUNITY_DETECTED,
    ArbitrageOpportunity.message_type: subjects.ARBITRAGE_OPPORTUNITY_DETECTED,
    PriceAlert.message_type: subjects.ALERT_TRIGGERED,
}
_KIND_OF_TABLE = {table: kind for kind, table in TABLE_FOR_TYPE.items()}
MAX_LINKS = 64  # a cycle of causation ids (a bug upstream) must not loop forever


class TraceError(LookupError):
    """The event asked about is not in the store."""


class Lookups(Protocol):
    """Where the walk reads: the event store, Kafka records, ClickHouse rows."""

    def event(self, event_id: str) -> RecordedEvent | None:
        """The event with this id, if the store has it."""

    def record(self, topic: str, partition: int, offset: int) -> bytes | None:
        """The value of one Kafka record, if it can be read."""

    def row(self, message_id: str, tables: Sequence[str]) -> tuple[str, dict[str, Any]] | None:
        """The first of ``tables`` holding a row with this message id, and the row."""


@dataclass(frozen=True)
class Link:
    """One step of the chain; the next link is what caused this one."""

    kind: str  # "event" | "command" | "signal" | "market"
    id: str
    title: str  # the event type, the command's subject, the message type
    where: list[str] = field(default_factory=list)  # stream@position, topic/partition/offset …
    time_ms: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what could not be found, and where

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "title": self.title, "where": self.where,
                "timeMs": self.time_ms, "details": self.details, "notes": self.notes}  # fmt: skip


def walk(event_id: str, lookups: Lookups) -> list[Link]:
    """The chain from ``event_id`` back to the market; ``TraceError`` if there is no such event."""
    event = lookups.event(event_id)
    if event is None:
        raise TraceError(f"no event with id {event_id!r} in the event store")
    chain: list[Link] = []
    seen: set[str] = set()
    while event is not None and len(chain) < MAX_LINKS:
        seen.add(str(event.id))
        try:
            meta = events.decode_metadata(event.metadata)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            chain.append(_event_link(event, None, [f"metadata unreadable ({exc}): cannot go on"]))
            break
        chain.append(_event_link(event, meta, []))
        if meta.causation_kind == "event":
            if meta.causation_id in seen:
                chain[-1].notes.append(f"causation loops back to {meta.causation_id}")
                break
            event = lookups.event(meta.causation_id)
            if event is None:
                chain.append(
                    Link("event", meta.causation_id, "?", notes=["not in the event store"])
                )
            continue
        if meta.causation_kind == "signal":
            causes = _signal_links(meta, lookups)
        else:
            causes = [_market_link(meta.causation_id, meta.source, lookups)]
        if meta.command_id:
            chain.append(_command_link(meta, causes[0].title))
        chain += causes
        break
    return chain


def _event_link(event: RecordedEvent, meta: events.EventMetadata | None, notes: list[str]) -> Link:
    try:
        details: dict[str, Any] = msgspec.json.decode(event.data)
    except msgspec.DecodeError:
        details = {"raw": event.data.decode("utf-8", "replace")}
    if meta is not None:
        details = {**details, "correlationId": meta.correlation_id}
    return Link("event", str(event.id), event.type,
                [f"{event.stream_name}@{event.stream_position}"], event.recorded_at_ms, details,
                notes)  # fmt: skip


def _command_link(meta: events.EventMetadata, signal_type: str) -> Link:
    """The command the bridge published: its id, and its subject from the signal's topic (or
    kind, for a signal read from elsewhere)."""
    source = meta.source
    subject = commands.SUBJECT_FOR_TOPIC.get(source.topic) if source else None
    subject = subject or SUBJECT_FOR_KIND.get(signal_type, "?")
    details = {"correlationId": meta.correlation_id, "causationId": meta.causation_id}
    return Link("command", str(meta.command_id), subject, [f"NATS {subject}"], None, details)


def _at(source: events.SourceRecord) -> str:
    return f"{source.topic}/{source.partition}/{source.offset}"


def _kafka(
    message_id: str, source: events.SourceRecord | None, lookups: Lookups, notes: list[str]
) -> Envelope[Any] | None:
    """The envelope at ``source``, checked to be ``message_id``."""
    if source is None:
        return None
    value = lookups.record(source.topic, source.partition, source.offset)
    if value is None:
        notes.append(f"Kafka record {_at(source)} not readable (retention, or Kafka not reachable)")
        return None
    try:
        envelope = decode(value)
    except EnvelopeError as exc:
        notes.append(f"Kafka record {_at(source)} is not an envelope: {exc}")
        return None
    if envelope.header.message_id != message_id:
        notes.append(f"Kafka record {_at(source)} holds {envelope.header.message_id}, "
                     f"not {message_id}")  # fmt: skip
        return None
    return envelope


def _message_link(
    kind: str, message_id: str, source: events.SourceRecord | None, tables: Sequence[str],
    lookups: Lookups,
) -> tuple[Link, Envelope[Any] | None]:  # fmt: skip
    notes: list[str] = []
    envelope = _kafka(message_id, source, lookups, notes)
    found = lookups.row(message_id, tables)
    where = [f"kafka {_at(source)}"] if envelope is not None and source is not None else []
    title, time_ms, details = "?", None, {}
    if found is not None:
        table, row = found
        where.append(f"clickhouse {table}")
        details = {k: v for k, v in row.items() if k not in ("message_id", "inserted_at")}
        time_ms = row.get("event_time") if isinstance(row.get("event_time"), int) else None
    else:
        notes.append(f"no row with this message id in ClickHouse {', '.join(tables)}")
    if envelope is not None:
        title, time_ms = envelope.header.message_type, envelope.header.event_time_ms
        details = msgspec.to_builtins(envelope.data)
    elif found is not None:
        title = _KIND_OF_TABLE.get(found[0], found[0])
    return Link(kind, message_id, title, where, time_ms, details, notes), envelope


def _signal_links(meta: events.EventMetadata, lookups: Lookups) -> list[Link]:
    link, envelope = _message_link("signal", meta.causation_id, meta.source, SIGNAL_TABLES,
                                   lookups)  # fmt: skip
    causes = [meta.correlation_id]
    if envelope is not None:
        header = envelope.header
        causes = [c for c in (header.correlation_id, header.causation_id) if c]
        link.details["correlationId"] = header.correlation_id
    links = [link]
    for cause in dict.fromkeys(causes):
        links.append(_message_link("market", cause, None, MARKET_TABLES, lookups)[0])
    return links


def _market_link(message_id: str, source: events.SourceRecord | None, lookups: Lookups) -> Link:
    return _message_link("market", message_id, source, MARKET_TABLES, lookups)[0]
