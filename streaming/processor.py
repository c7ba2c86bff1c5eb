"""``lucent worker processor``: raw market topics → validated, de-duplicated, normalized and
enriched envelopes on ``market.{kind}.all``, bad input on ``market.deadletter``.

The stages are the pure ``MarketProcessor`` (lucent_platform.processing); the loop is the
micro-batch runtime (streaming.runtime). One consumer group, ``lucent-processor``: run more
instances to share the raw topics' partitions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from lucent_platform.config import Settings
from lucent_platform.processing.config import processor_config
from lucent_platform.processing.pipeline import MarketProcessor
from lucent_platform.stack.endpoints import Endpoints
from lucent_platform.topics import Kind, raw_pattern
from streaming.exposed import expose
from streaming.lifecycle import StopSignal
from streaming.runtime.loop import run_worker, tune_gc_for_streaming
from streaming.runtime.metrics import WorkerMetrics

log = logging.getLogger(__name__)

GROUP_ID = "lucent-processor"

# A new raw topic (a new instrument) is created by a feed while the processor runs: look for
# topics matching the subscription every few seconds instead of librdkafka's 5 minutes.
# Raw topics have one partition each (topics.RAW_PARTITIONS), and the default range assignor
# hands each topic's partition 0 to the same member: a second instance got nothing
# (tests/test_processor_faults.py). Round-robin spreads them; the processor keeps no state
# across partitions, so any spread is correct.
CONSUMER_OVERRIDES = {
    "auto.offset.reset": "earliest",  # a new group starts from what is already there
    "topic.metadata.refresh.interval.ms": 3000,
    "partition.assignment.strategy": "roundrobin",
}


def clock_ms() -> int:
    return time.time_ns() // 1_000_000


def run(
    settings: Settings,
    bootstrap: str,
    stop: StopSignal,
    until: Mapping[tuple[str, int], int] | None = None,
) -> WorkerMetrics:
    """The processor as ``lucent worker processor`` runs it, until ``stop``; with ``until``,
    only up to those offsets, then it stops by itself (``lucent reprocess --until``)."""
    processor = MarketProcessor(processor_config(settings.processor_config), clock_ms=clock_ms)
    expose("sources", GROUP_ID, processor.latency)
    return run_worker(
        settings,
        bootstrap,
        group_id=GROUP_ID,
        subscribe=[raw_pattern(kind) for kind in Kind],
        processor=processor,
        stop=stop,
        exactly_once=settings.processor_exactly_once,
        instance_id=settings.instance_id,
        consumer_config=CONSUMER_OVERRIDES,
        until=until,
    )


def main(settings: Settings, endpoints: Endpoints) -> None:
    tune_gc_for_streaming()
    metrics = run(settings, endpoints.kafka_bootstrap_servers, StopSignal().install())
    log.info("processor stopped: %s", metrics.log_line())
