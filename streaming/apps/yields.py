"""``lucent worker yield``: yield rates on ``market.yields.all`` → ``yield.opportunities``.

The detector is the pure ``YieldDetector`` (lucent_platform.signals.apps.yields); the loop is
the micro-batch runtime, which checkpoints its windows and rebuilds them after a restart.
One consumer group, ``lucent-yield``: more instances share the input's partitions (pools are
keyed by protocol, so one pool's rates stay in one partition).
"""

from __future__ import annotations

import logging
import time

from lucent_platform.config import Settings
from lucent_platform.signals.apps.yields import YieldDetector, yield_config
from lucent_platform.stack.endpoints import Endpoints
from lucent_platform.topics import Kind, normalized
from streaming.lifecycle import StopSignal
from streaming.runtime.loop import run_worker, tune_gc_for_streaming
from streaming.runtime.metrics import WorkerMetrics

log = logging.getLogger(__name__)

GROUP_ID = "lucent-yield"
CONSUMER_OVERRIDES = {"auto.offset.reset": "earliest"}


def clock_ms() -> int:
    return time.time_ns() // 1_000_000


def run(settings: Settings, bootstrap: str, stop: StopSignal) -> WorkerMetrics:
    """The detector as ``lucent worker yield`` runs it, until ``stop``."""
    detector = YieldDetector(yield_config(settings.yield_config), clock_ms=clock_ms)
    return run_worker(
        settings,
        bootstrap,
        group_id=GROUP_ID,
        subscribe=[normalized(Kind.YIELDS)],
        processor=detector,
        stop=stop,
        instance_id=settings.instance_id,
        consumer_config=CONSUMER_OVERRIDES,
    )


def main(settings: Settings, endpoints: Endpoints) -> None:
    tune_gc_for_streaming()
    metrics = run(settings, endpoints.kafka_bootstrap_servers, StopSignal().install())
    log.info("yield detector stopped: %s", metrics.log_line())
