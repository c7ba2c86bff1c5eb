"""``lucent worker clickhouse-sink``: the normalized, dead-letter and signal topics into the
ClickHouse analytics tables, in batches, idempotently, surviving ClickHouse outages.

Semantics: at-least-once delivery plus de-duplication tokens = every record becomes its
rows exactly once. Offsets are committed only after the batch holding them is inserted; a
crash between the insert and the commit replays the batch, and the replayed batch carries the
same ``insert_deduplication_token`` (``batches.py``), so the server drops it, before the
``trades`` → ``market_data`` materialized view sees it: candles stay exact. The raw tables are
ReplacingMergeTree by message id as well, a second line of defence for the rows themselves.

Batches are cut per input partition, on offset boundaries: at ``LUCENT_SINK_BATCH_ROWS``
records, or ``LUCENT_SINK_BATCH_MS`` after the batch's first record, or sooner when
``LUCENT_SINK_MAX_BUFFERED`` records are held. Only the first rule is a function of the
offsets alone, so each cut is written to a ledger table (``sink_batches``) before its insert,
and a partition assigned again repeats the recorded cuts past its committed offset exactly
(``ledger.py``). One insert per table and batch.

ClickHouse down or slow: the insert fails, every assigned partition is paused, the batch is
retried with exponential back-off (0.25 s doubling to ``LUCENT_SINK_RETRY_MAX_MS``), each
failure logged with its reason; nothing is dropped or committed meanwhile, the process never
exits for it, and input resumes with the first insert that works. Memory is bounded by
``LUCENT_SINK_MAX_BUFFERED`` (flush, and pause while that many records are held).

Malformed records (``mapping.py``): stored as ``dead_letters`` rows with the reason, counted
as ``malformed``, logged; never a stop. Metrics: ``SinkMetrics`` (rows per table, insert
latency, failures, retries, batches, end-to-end latency).

Why its own loop rather than ``streaming.runtime.run_worker``: the runtime commits a batch
once its *Kafka outputs* are acknowledged, and a processor sees one consumed batch at a time.
A sink must hold records across many consumed batches (size/time bounds), commit only after a
ClickHouse insert, and, while ClickHouse is down, pause input and retry instead of blocking
inside ``process``. Doing the insert synchronously inside ``process`` would make every Kafka
fetch an insert (no accumulation) and a down server a loop stuck in a callback. So the sink
has a small loop of its own (``worker.py``) and reuses the runtime's parts: the consumer from
the Kafka adapter, ``StopSignal``, ``WorkerMetrics``/``Histogram``, the rebalance discipline
(re-read after a rebalance inside ``consume``, revoke = flush + commit) and its GC tuning.
"""

from __future__ import annotations

import logging

from lucent_platform.config import Settings
from lucent_platform.stack.endpoints import Endpoints
from streaming.lifecycle import StopSignal

log = logging.getLogger(__name__)


def main(settings: Settings, endpoints: Endpoints) -> None:
    """The sink as ``lucent worker clickhouse-sink`` (and ``lucent up``) runs it."""
    from streaming.runtime.loop import tune_gc_for_streaming
    from streaming.sink.worker import run

    stop = StopSignal().install()
    if settings.clickhouse_ingest == "kafka-engine":
        # The server's Kafka engine fills the tables itself; inserting too would double them.
        log.info("LUCENT_CLICKHOUSE_INGEST=kafka-engine: the sink stays idle")
        stop.event.wait()
        return
    tune_gc_for_streaming()
    metrics = run(settings, endpoints.kafka_bootstrap_servers, endpoints.clickhouse_url, stop)
    log.info("clickhouse sink stopped: %s", metrics.log_line())
