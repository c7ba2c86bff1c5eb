"""What every stage of the pipeline did, read from where its output lands.

Counts come from the broker (messages on each stage's output topics), not from the workers'
own reports, so a stage that crashed or lied still shows what it really produced; the sink's
stage, ``stored``, is counted in ClickHouse (rows of the analytics tables). Latency is
the end-to-end time from a connector receiving a message to the processor writing its
normalized form: the Kafka timestamp of the normalized message minus ``receivedTimeMs``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import msgspec

from lucent_platform import topics
from lucent_platform.adapters.kafka import TopicInfo
from lucent_platform.topics import Kind

if TYPE_CHECKING:
    from lucent_platform.adapters.clickhouse import Client

# Stage name → which topics hold its output (a regex over topic names).
STAGE_TOPICS: dict[str, str] = {
    "ingested": "|".join(f"({topics.raw_pattern(kind)})" for kind in Kind),
    "normalized": "|".join(f"(^{re.escape(topics.normalized(kind))}$)" for kind in Kind),
    "dead_lettered": f"^{re.escape(topics.DEADLETTER)}$",
    "price_alerts": f"^{re.escape(topics.USER_ALERTS)}$",
    "arbitrage_opportunities": f"^{re.escape(topics.ARBITRAGE_OPPORTUNITIES)}$",
    "yield_opportunities": f"^{re.escape(topics.YIELD_OPPORTUNITIES)}$",
    "patterns": f"^{re.escape(topics.PATTERNS)}$",
}


def count_stages(infos: Iterable[TopicInfo]) -> dict[str, int]:
    """Messages per stage, summed over the topics each stage writes."""
    counts = dict.fromkeys(STAGE_TOPICS, 0)
    patterns = {stage: re.compile(rx) for stage, rx in STAGE_TOPICS.items()}
    for info in infos:
        for stage, pattern in patterns.items():
            if pattern.search(info.topic):
                counts[stage] += info.messages
    return counts


def percentiles(samples_ms: list[float]) -> dict[str, float | None]:
    """p50/p90/p99/max of latency samples (nearest-rank), ``None`` when there are none."""
    if not samples_ms:
        return {"p50": None, "p90": None, "p99": None, "max": None, "samples": 0}
    ordered = sorted(samples_ms)

    def rank(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {
        "p50": rank(0.50),
        "p90": rank(0.90),
        "p99": rank(0.99),
        "max": round(ordered[-1], 2),
        "samples": len(ordered),
    }


@dataclass
class StageReport:
    """The demo's summary: ``{"stages": {...}, "latency_ms": {...}}`` plus what went wrong."""

    stages: dict[str, int]
    latency_ms: dict[str, float | None]
    expected: list[str] = field(default_factory=list)
    examples: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    latency_from: str = "received"  # or "ingested": from the feed's write of the raw record

    @property
    def silent_stages(self) -> list[str]:
        """Stages that should have produced output and did not."""
        return [stage for stage in self.expected if self.stages.get(stage, 0) == 0]

    def as_json(self) -> dict[str, object]:
        return {
            "stages": self.stages,
            "latency_ms": self.latency_ms,
            "latency_from": self.latency_from,
            "expected": self.expected,
            "silent": self.silent_stages,
            "examples": self.examples,
        }


def end_to_end_latency(
    records: Iterable[tuple[int, bytes | None]], ingested_ms: Mapping[str, int] | None = None
) -> list[float]:
    """Latency samples (ms) from (Kafka timestamp, envelope bytes) of normalized messages:
    since the envelope's receive time, or, given ``ingested_ms`` (message id → the raw
    record's Kafka timestamp), since the feed wrote it — for replays, whose receive times are
    the recording's, years ago."""
    from lucent_platform.envelope import EnvelopeError, decode

    samples = []
    for timestamp_ms, value in records:
        if value is None:
            continue
        try:
            header = decode(value).header
        except EnvelopeError:
            continue
        if ingested_ms is None:
            samples.append(float(timestamp_ms - header.received_time_ms))
        elif (start := ingested_ms.get(header.message_id)) is not None:
            samples.append(float(timestamp_ms - start))
    return samples


def ingest_times(records: Iterable[tuple[int, bytes | None]]) -> dict[str, int]:
    """Message id → Kafka timestamp of raw records (what ``end_to_end_latency`` starts from)."""
    from lucent_platform.envelope import EnvelopeError, decode

    times: dict[str, int] = {}
    for timestamp_ms, value in records:
        if value is not None:
            with contextlib.suppress(EnvelopeError):
                times.setdefault(decode(value).header.message_id, timestamp_ms)
    return times


def example_values(values: Iterable[bytes | None]) -> list[dict[str, object]]:
    """A few records as JSON objects, for the demo's summary."""
    examples = []
    for value in values:
        if value:
            try:
                examples.append(msgspec.json.decode(value))
            except msgspec.DecodeError:
                continue
    return examples


def stored_rows(client: Client, database: str) -> dict[str, int]:
    """Rows per analytics table (the sink's output), as ClickHouse counts them now."""
    from lucent_platform.analytics.migrate import quote_name
    from lucent_platform.analytics.schema import TABLES

    db = quote_name(database)
    union = " UNION ALL ".join(f"SELECT '{table}', count() FROM {db}.{table}" for table in TABLES)
    return {str(table): int(n) for table, n in client.query(union).result_rows}


def dead_letter_reasons(values: Iterable[bytes | None]) -> list[dict[str, object]]:
    """Dead letters counted by reason: ``[{"reason": "outlier", "count": 3}, …]``."""
    reasons: dict[str, int] = {}
    for letter in example_values(values):
        reason = str(letter.get("reason", "?"))
        reasons[reason] = reasons.get(reason, 0) + 1
    return [{"reason": r, "count": n} for r, n in sorted(reasons.items(), key=lambda x: -x[1])]
