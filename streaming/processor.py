"""``lucent worker processor``: raw market topics → validated, de-duplicated, normalized and
enriched envelopes on ``market.{kind}.all``, bad input on ``market.deadletter``.

The stages are the pure ``MarketProcessor`` (lucent_platform.processing); the loop is the
micro-batch runtime (streaming.runtime). One consumer group, ``lucent-processor``: run more
instances to share the raw topics' partitions.
"""

from __future__ import annotations

import logging
import time

from lucent_platform.config import Settings
from lucent_platform.processing.config import ProcessorConfig
from lucent_platform.processing.pipeline import MarketProcessor
from lucent_platform.stack.endpoints import Endpoints
from lucent_platform.topics import Kind, raw_pattern
from streaming.lifecycle import StopSignal
from streaming.runtime.loop import run_worker

log = logging.getLogger(__name__)

GROUP_ID = "lucent-processor"

# A new raw topic (a new instrument) is created by a feed while the processor runs: look for
# topics matching the subscription every few seconds instead of librdkafka's 5 minutes.
CONSUMER_OVERRIDES = {
    "auto.offset.reset": "earliest",  # a new group starts from what is already there
    "topic.metadata.refresh.interval.ms": 3000,
}


def clock_ms() -> int:
    return time.time_ns() // 1_000_000


def main(settings: Settings, endpoints: Endpoints) -> None:
    stop = StopSignal().install()
    processor = MarketProcessor(ProcessorConfig(), clock_ms=clock_ms)
    metrics = run_worker(
        settings,
        endpoints.kafka_bootstrap_servers,
        group_id=GROUP_ID,
        subscribe=[raw_pattern(kind) for kind in Kind],
        processor=processor,
        stop=stop,
        exactly_once=settings.processor_exactly_once,
        instance_id=settings.instance_id,
        consumer_config=CONSUMER_OVERRIDES,
    )
    log.info("processor stopped: %s", metrics.log_line())
