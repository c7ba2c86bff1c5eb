"""What the runtime hands a processor and what it takes back: the processor contract.

The pure stages (validation, de-duplication, normalization, enrichment) know nothing of
Kafka: they receive ``InRecord`` values and return ``Output`` values plus exact counts. The
runtime owns everything else — consuming, producing, committing, rebalances, backpressure.
The record types are the processing pipeline's own, so a processor's types and the
runtime's are the same objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from lucent_platform.processing.pipeline import InRecord, Output, Result
from lucent_platform.signals.windows import Mark

__all__ = ["InRecord", "Output", "Processor", "Result", "Stateful"]


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


@runtime_checkable
class Stateful(Processor, Protocol):
    """A processor whose state the runtime checkpoints and rebuilds (``checkpoints.py``):
    window state that outlives a batch. ``checkpoint`` reports a partition's ``Mark`` (None:
    not owned); after ``assigned``, ``restore`` starts a partition from a mark and ``warm``
    replays input already processed, outputs discarded. Processors without these methods
    (the market processor) get no checkpoints."""

    def checkpoint(self, partition: tuple[str, int]) -> Mark | None: ...

    def restore(self, partition: tuple[str, int], mark: Mark) -> None: ...

    def warm(self, records: Sequence[InRecord]) -> None: ...
