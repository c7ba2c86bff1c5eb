"""A worker's counters and latency histograms, dependency-free so any exporter can read them.

The histograms are ``lucent_platform.histogram``'s (fixed log-scale buckets, four per
doubling): cheap enough to record every record's latency on the hot path.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from lucent_platform.histogram import BUCKET_BOUNDS_MS, Histogram
from streaming.runtime.traffic import Traffic

__all__ = ["BUCKET_BOUNDS_MS", "Histogram", "WorkerMetrics"]


@dataclass
class WorkerMetrics:
    """Everything a worker counts and times, handed to ``on_batch`` and exporters as is.

    ``counts`` holds the runtime's own counters — ``consumed``, ``produced``, ``batches``,
    ``commits``, ``commit_failures``, ``backpressure_waits``, ``pauses``, ``consume_errors``,
    ``delivery_retries``, ``aborts``, ``rewound`` (records read again after an abort),
    ``rebalances`` — and, summed over batches, every count the processor reported (``in``,
    ``normalized``, ``dead_lettered``, ``duplicates``, …), so a stage's exact accounting
    (in = out + dead-lettered + duplicates) can be checked on the worker itself.
    """

    counts: Counter[str] = field(default_factory=Counter)
    batch_ms: Histogram = field(default_factory=Histogram)
    """Per batch: consume returned → every output handed to the producer (process + produce)."""
    commit_ms: Histogram = field(default_factory=Histogram)
    """Per commit: the synchronous offset commit, or the transaction's offsets + commit."""
    end_to_end_ms: Histogram = field(default_factory=Histogram)
    """Per record: its batch's outputs durable (all acknowledged, or the transaction
    committed) minus the input record's timestamp."""
    traffic: Traffic = field(default_factory=Traffic)
    """Records per input and output topic, batch sizes, rebalance callbacks (``traffic.py``)."""
    started: float = field(default_factory=time.monotonic)

    def snapshot(self) -> dict[str, object]:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return {
            "counts": dict(self.counts),
            "consumed_per_s": round(self.counts["consumed"] / elapsed, 1),
            "batch_ms": self.batch_ms.summary(),
            "commit_ms": self.commit_ms.summary(),
            "end_to_end_ms": self.end_to_end_ms.summary(),
        }

    def log_line(self) -> str:
        c, e2e = self.counts, self.end_to_end_ms
        return (
            f"consumed={c['consumed']} produced={c['produced']} batches={c['batches']} "
            f"dead_lettered={c['dead_lettered']} duplicates={c['duplicates']} "
            f"pauses={c['pauses']} commit_failures={c['commit_failures']} "
            f"batch_p99={self.batch_ms.quantile(0.99):.1f}ms "
            f"e2e_p50={e2e.quantile(0.5):.1f}ms e2e_p99={e2e.quantile(0.99):.1f}ms"
        )
