"""``PartitionedApp``: the processor plumbing of signal apps that keep their own keyed state
per input partition rather than windows (the alert engine, the arbitrage detector).

A subclass says what a partition's empty state is (``new_partition``), where its rebuild
must start re-reading (``mark``), and how records change state and make outputs (``run``,
called with ``outputs=None`` while warming, when outputs are discarded). This base does the
rest the runtime expects (``streaming.runtime.records``): a state per assigned partition,
dropped on revocation, restarted empty on ``restore`` so ``warm`` rebuilds it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar

from lucent_platform.processing.pipeline import InRecord, Output, Result
from lucent_platform.signals.windows import Mark

P = TypeVar("P")
Partition = tuple[str, int]


class PartitionedApp(Generic[P]):
    def __init__(self) -> None:
        self._parts: dict[Partition, P] = {}

    # --- what a subclass says ------------------------------------------------------------
    def new_partition(self) -> P:
        raise NotImplementedError

    def mark(self, state: P) -> Mark | None:
        raise NotImplementedError

    def run(
        self, records: Sequence[InRecord], outputs: list[Output] | None, counts: Counter[str]
    ) -> None:
        raise NotImplementedError

    # --- the processor -------------------------------------------------------------------
    def process(self, batch: Sequence[InRecord]) -> Result:
        counts: Counter[str] = Counter({"in": len(batch)})
        outputs: list[Output] = []
        self.run(batch, outputs, counts)
        counts["out"] = len(outputs)
        return Result(outputs, counts)

    def warm(self, records: Sequence[InRecord]) -> None:
        """Replay records processed before a restart: state only, outputs discarded."""
        self.run(records, None, Counter())

    def assigned(self, partitions: Iterable[Partition]) -> None:
        for tp in partitions:
            self._parts[tp] = self.new_partition()

    def revoked(self, partitions: Iterable[Partition]) -> None:
        for tp in partitions:
            self._parts.pop(tp, None)

    def checkpoint(self, partition: Partition) -> Mark | None:
        state = self._parts.get(partition)
        return None if state is None else self.mark(state)

    def restore(self, partition: Partition, mark: Mark) -> None:
        """Start empty: ``warm`` re-reads from ``mark.start``."""
        self._parts[partition] = self.new_partition()
