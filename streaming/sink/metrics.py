"""The sink's counters and histograms: the runtime's ``WorkerMetrics`` plus inserts.

Counts (``counts``): the runtime's ``consumed``, ``batches`` (batch inserts), ``commits``,
``commit_failures``, ``pauses``, ``rebalances``, ``consume_errors``; and the sink's own
``rows.<table>`` (rows inserted per table), ``inserts`` (insert statements),
``insert_failures``, ``retries``, ``ledger_failures``, ``malformed`` (records stored as dead
letters instead), ``skipped`` (kinds no table stores), ``stale`` (re-reads dropped) and
``dropped_on_revoke`` (records left for the partitions' next owner).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streaming.runtime.metrics import Histogram, WorkerMetrics


@dataclass
class SinkMetrics(WorkerMetrics):
    """``batch_ms`` is unused; ``end_to_end_ms`` is a record's Kafka timestamp → its row in."""

    insert_ms: Histogram = field(default_factory=Histogram)
    """Per insert statement (one table of one batch), including the server's round trip."""

    def rows(self) -> dict[str, int]:
        """Rows inserted per table."""
        return {k.removeprefix("rows."): n for k, n in self.counts.items() if k.startswith("rows.")}

    def snapshot(self) -> dict[str, object]:
        return {
            **super().snapshot(),
            "rows": self.rows(),
            "insert_ms": self.insert_ms.summary(),
        }

    def log_line(self) -> str:
        c, e2e = self.counts, self.end_to_end_ms
        return (
            f"consumed={c['consumed']} rows={sum(self.rows().values())} batches={c['batches']} "
            f"malformed={c['malformed']} insert_failures={c['insert_failures']} "
            f"pauses={c['pauses']} commit_failures={c['commit_failures']} "
            f"insert_p99={self.insert_ms.quantile(0.99):.1f}ms "
            f"e2e_p50={e2e.quantile(0.5):.1f}ms e2e_p99={e2e.quantile(0.99):.1f}ms"
        )
