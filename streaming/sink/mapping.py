"""What one consumed record becomes in ClickHouse: rows of the analytics tables, or a dead letter.

The sink's topics are the processor's outputs, so a record that does not decode (bad JSON, an
unknown ``messageType``, a tombstone) or that no table can take is a bug upstream, not market
noise. It never stops the sink and is never silently dropped: it becomes a ``dead_letters``
row of its own (``source = 'clickhouse-sink'``, ``message_id = topic/partition/offset``, the
reason and the error), is counted as ``malformed`` and logged. No Kafka producer is needed,
and the row lands in the same batch, under the same de-duplication token, as its neighbours.

A decodable envelope goes to the table of its ``messageType`` (``rows.TABLE_FOR_TYPE``), so
a kind that strays onto another kind's topic is still stored where it belongs. Kinds no table
stores (order-book deltas) are counted as ``skipped``. A record of ``market.retractions`` (an
on-chain message a chain reorg took back) is a ``retractions`` row; the worker then deletes the
original's row (``retraction_checks``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lucent_platform.analytics.rows import (
    TABLE_FOR_TOPIC,
    TABLE_FOR_TYPE,
    dead_letter_row,
    retraction_row,
    to_row,
)
from lucent_platform.analytics.schema import COLUMNS
from lucent_platform.envelope import CHAIN_SOURCE_SUFFIX, EnvelopeError, decode
from lucent_platform.messages import (
    ArbitrageOpportunity,
    BridgeTransfer,
    GovernanceEvent,
    Liquidation,
    MessageData,
    ModelPrediction,
    OrderBookSnapshot,
    PoolSwap,
    PriceAlert,
    PriceUpdate,
    Trade,
    YieldOpportunity,
    YieldRate,
)
from lucent_platform.processing import deadletter
from lucent_platform.processing.deadletter import DeadLetter, Reason
from lucent_platform.topics import (
    AGENTS_PREDICTIONS,
    ARBITRAGE_OPPORTUNITIES,
    DEADLETTER,
    RETRACTIONS,
    USER_ALERTS,
    YIELD_OPPORTUNITIES,
    Kind,
    normalized,
)

Row = tuple[Any, ...]
Rows = list[tuple[str, Row]]
"""(table, row) pairs: what one record adds to its batch."""

RETRACTIONS_TABLE = TABLE_FOR_TOPIC[RETRACTIONS]
"""Rows of this table also delete the original's row from its table (``worker._insert``)."""

SOURCE = "clickhouse-sink"
"""``dead_letters.source`` of the records the sink itself could not store."""

LIKELY: dict[str, type[MessageData]] = {
    normalized(Kind.PRICES): PriceUpdate,
    normalized(Kind.TRADES): Trade,
    normalized(Kind.ORDERBOOK): OrderBookSnapshot,
    normalized(Kind.YIELDS): YieldRate,
    normalized(Kind.LIQUIDATIONS): Liquidation,
    normalized(Kind.GOVERNANCE): GovernanceEvent,
    normalized(Kind.BRIDGES): BridgeTransfer,
    normalized(Kind.SWAPS): PoolSwap,
    YIELD_OPPORTUNITIES: YieldOpportunity,
    USER_ALERTS: PriceAlert,
    ARBITRAGE_OPPORTUNITIES: ArbitrageOpportunity,
    AGENTS_PREDICTIONS: ModelPrediction,
}
"""The kind each topic carries, tried first when decoding (one typed pass, faster)."""

_SOURCE_AT = COLUMNS["dead_letters"].index("source")
_ROW_SOURCE_AT = 3  # every raw table starts message_id, event_time, received_time, source
_TARGET_AT = COLUMNS[RETRACTIONS_TABLE].index("target_table")
_NO_ROWS: Rows = []


class Malformed(Exception):
    """A record the sink cannot store as it is: ``reason`` (a ``Reason`` value) and why."""

    def __init__(self, reason: str, detail: str, message_type: str | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.message_type = message_type


def rows_of(topic: str, value: bytes | None) -> Rows:
    """The rows one record adds: one row, none (a kind without a table), or ``Malformed``."""
    if value is None:
        raise Malformed(Reason.UNDECODABLE, "record has no value (a tombstone)")
    if topic == DEADLETTER:
        try:
            return [("dead_letters", dead_letter_row(deadletter.decode(value)))]
        except ValueError as exc:  # msgspec's DecodeError and ValidationError
            raise Malformed(Reason.UNDECODABLE, f"not a dead letter: {exc}") from None
    try:
        envelope = decode(value, LIKELY.get(topic))
    except EnvelopeError as exc:
        reason = Reason.UNKNOWN_KIND if "unknown messageType" in str(exc) else Reason.UNDECODABLE
        raise Malformed(reason, str(exc), exc.message_type) from None
    try:
        row = retraction_row(envelope) if topic == RETRACTIONS else to_row(envelope)
    except Exception as exc:  # a mapping bug must cost one record, not the sink
        message_type = envelope.header.message_type
        detail = f"no row from {message_type}: {type(exc).__name__}: {exc}"
        raise Malformed(Reason.PROCESSING_ERROR, detail, message_type) from None
    if row is None:
        return _NO_ROWS
    if topic == RETRACTIONS:
        return [(RETRACTIONS_TABLE, row)]
    return [(TABLE_FOR_TYPE[envelope.header.message_type], row)]


def retraction_checks(rows: Mapping[str, Sequence[Row]]) -> dict[str, list[str]]:
    """Per table, the message ids of a batch to delete if a chain reorg retracted them.

    The batch's retractions name their originals; its on-chain rows (``source`` ending in
    ``-rpc``) may be originals whose retraction landed first (another partition's batch).
    """
    checks: dict[str, list[str]] = {}
    for table, table_rows in rows.items():
        if table == RETRACTIONS_TABLE:
            for row in table_rows:
                checks.setdefault(row[_TARGET_AT], []).append(row[0])
        elif table != "dead_letters":
            ids = [
                row[0]
                for row in table_rows
                if str(row[_ROW_SOURCE_AT]).endswith(CHAIN_SOURCE_SUFFIX)
            ]
            if ids:
                checks.setdefault(table, []).extend(ids)
    return checks


def malformed_row(
    problem: Malformed, topic: str, partition: int, offset: int, stamp_ms: int, now_ms: int
) -> Row:
    """A ``dead_letters`` row for a record the sink could not store (``source`` is the sink)."""
    letter = DeadLetter(
        reason=str(problem.reason),
        detail=problem.detail[:1000],
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        source_timestamp_ms=stamp_ms,
        dead_lettered_at_ms=now_ms,
        original_base64=b"",
        message_type=problem.message_type,
    )
    row = dead_letter_row(letter)
    return (*row[:_SOURCE_AT], SOURCE, *row[_SOURCE_AT + 1 :])
