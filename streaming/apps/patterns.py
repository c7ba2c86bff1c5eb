"""``lucent worker patterns``: liquidations and prices → complex event patterns on
``market.patterns`` (for now the liquidation cascade).

The pattern is the pure ``CascadeDetector`` (lucent_platform.signals.apps.patterns) on the
micro-batch runtime, which checkpoints its windows and rebuilds them after a restart. One
consumer group, ``lucent-patterns``, run as one instance: the detector's price table needs
every price partition (see the module's note on the join).
"""

from __future__ import annotations

import logging
import time

from lucent_platform.config import Settings
from lucent_platform.signals.apps.patterns import CascadeDetector, patterns_config
from lucent_platform.stack.endpoints import Endpoints
from lucent_platform.topics import Kind, normalized
from streaming.lifecycle import StopSignal
from streaming.runtime.loop import run_worker, tune_gc_for_streaming
from streaming.runtime.metrics import WorkerMetrics

log = logging.getLogger(__name__)

GROUP_ID = "lucent-patterns"
CONSUMER_OVERRIDES = {"auto.offset.reset": "earliest"}


def clock_ms() -> int:
    return time.time_ns() // 1_000_000


def run(settings: Settings, bootstrap: str, stop: StopSignal) -> WorkerMetrics:
    """The pattern detector as ``lucent worker patterns`` runs it, until ``stop``."""
    detector = CascadeDetector(patterns_config(settings.patterns_config), clock_ms=clock_ms)
    return run_worker(
        settings,
        bootstrap,
        group_id=GROUP_ID,
        subscribe=[normalized(Kind.LIQUIDATIONS), normalized(Kind.PRICES)],
        processor=detector,
        stop=stop,
        instance_id=settings.instance_id,
        consumer_config=CONSUMER_OVERRIDES,
    )


def main(settings: Settings, endpoints: Endpoints) -> None:
    tune_gc_for_streaming()
    metrics = run(settings, endpoints.kafka_bootstrap_servers, StopSignal().install())
    log.info("pattern detector stopped: %s", metrics.log_line())
