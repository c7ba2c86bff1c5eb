"""Where a worker's records came from and went, batch sizes, and its partitions' comings and
goings: the splits of ``WorkerMetrics`` the metrics endpoint labels by topic and kind.

Updated once per batch, never per record in Python: ``Counter.update`` over ``map`` counts the
topics in C (the processor bench showed no difference, README "Metrics").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

SIZE_BOUNDS: tuple[int, ...] = tuple(2**i for i in range(17))
"""Upper bounds of the batch-size buckets (1, 2, 4 … 65536 records); one more above."""

REBALANCE_KINDS = ("assign", "revoke", "lost")


class Traffic:
    """Records per input and output topic, records per consumed batch, rebalance callbacks."""

    __slots__ = ("assigned", "batch_sizes", "batch_total", "rebalances", "topics_in", "topics_out")

    def __init__(self) -> None:
        self.topics_in: Counter[str] = Counter()
        self.topics_out: Counter[str] = Counter()
        self.batch_sizes = [0] * (len(SIZE_BOUNDS) + 1)
        self.batch_total = 0
        self.rebalances: Counter[str] = Counter()
        self.assigned = 0
        """Partitions the worker's consumer holds now (assigned minus revoked and lost)."""

    def consumed(self, topics: Iterable[str], n: int) -> None:
        """One consumed batch of ``n`` records, ``topics`` giving each record's topic."""
        self.topics_in.update(topics)
        self.batch(n)

    def batch(self, n: int) -> None:
        """One consumed batch of ``n`` records (its topics counted elsewhere)."""
        if n > 0:
            # Bucket i holds sizes in (2**(i-1), 2**i]; (n - 1).bit_length() is that i.
            self.batch_sizes[min((n - 1).bit_length(), len(SIZE_BOUNDS))] += 1
            self.batch_total += n

    def produced(self, topics: Iterable[str]) -> None:
        self.topics_out.update(topics)

    def rebalanced(self, kind: str, partitions: int) -> None:
        """A rebalance callback (``assign``, ``revoke`` or ``lost``) over ``partitions``."""
        self.rebalances[kind] += 1
        self.assigned = max(self.assigned + (partitions if kind == "assign" else -partitions), 0)

    def size_buckets(self) -> list[tuple[str, float]]:
        """Cumulative counts per bound, then ``+Inf``, from one copy of the buckets."""
        buckets = list(self.batch_sizes)
        out: list[tuple[str, float]] = []
        seen = 0
        for bound, n in zip(SIZE_BOUNDS, buckets, strict=False):
            seen += n
            out.append((str(bound), float(seen)))
        out.append(("+Inf", float(sum(buckets))))
        return out
