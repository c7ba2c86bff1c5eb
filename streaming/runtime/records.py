"""What the runtime hands a processor and what it takes back: the processor contract.

The pure stages (validation, de-duplication, normalization, enrichment) know nothing of
Kafka: they receive ``InRecord`` values and return ``Output`` values plus exact counts. The
runtime owns everything else — consuming, producing, committing, rebalances, backpressure.

The record types are a local copy of ``lucent_platform.processing.pipeline``'s, which did not
exist when the runtime was written; once it does, this module should re-export those instead
(one import), so a processor's types and the runtime's are the same objects.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class InRecord:
    """One consumed message. ``timestamp_ms`` is the Kafka record timestamp (UTC ms)."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class Output:
    """One message to produce; headers are (name, bytes) pairs, as Kafka stores them."""

    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass
class Result:
    """A batch's outputs and its exact counts (``in``, ``out``, ``dead_lettered``, …)."""

    outputs: list[Output]
    counts: Counter[str] = field(default_factory=Counter)


class Processor(Protocol):
    """What the runtime drives; duck-typed, so any object with these methods fits.

    ``process`` is called with each consumed batch, and with an empty batch when the input
    has been quiet for a while, so event-time windows of quiet keys still close on wall-clock
    time (DESIGN.md decision 4). ``assigned``/``revoked`` bracket the partitions this
    instance owns: state lives per input partition, like Kafka Streams tasks, so a processor
    rebuilds the state of partitions it gained and drops the state of those it lost. A batch
    is always finished — produced and committed — before ``revoked`` is called.
    """

    def process(self, batch: Sequence[InRecord]) -> Result: ...

    def assigned(self, partitions: Iterable[tuple[str, int]]) -> None: ...

    def revoked(self, partitions: Iterable[tuple[str, int]]) -> None: ...
