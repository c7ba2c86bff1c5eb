"""``lucent worker alerts``: price updates on ``market.prices.all`` joined with the users' rules
on ``user.alert-rules`` → ``price_alert`` envelopes on ``user.alerts`` (keyed by user).

The engine is the pure ``AlertEngine`` (lucent_platform.signals.apps.alerts); the runtime
loads the rules table before any input and follows it while running (``runtime.tables``), and
rebuilds the crossing state after a restart from checkpoints (``runtime.checkpoints``). One
consumer group, ``lucent-alerts``: more instances share the prices' partitions (quotes are
keyed by pair, so one pair's rules live in one instance); every instance holds every rule.
"""

from __future__ import annotations

import logging
import time

from lucent_platform.config import Settings
from lucent_platform.signals.apps.alerts import AlertEngine, alerts_config
from lucent_platform.stack.endpoints import Endpoints
from lucent_platform.topics import CHECKPOINTS, USER_ALERT_RULES, USER_ALERTS, Kind, normalized
from streaming.lifecycle import StopSignal
from streaming.runtime.loop import run_worker, tune_gc_for_streaming
from streaming.runtime.metrics import WorkerMetrics

log = logging.getLogger(__name__)

GROUP_ID = "lucent-alerts"
CONSUMER_OVERRIDES = {"auto.offset.reset": "latest"}  # alerts are about now, not history


def clock_ms() -> int:
    return time.time_ns() // 1_000_000


def run(
    settings: Settings,
    bootstrap: str,
    stop: StopSignal,
    *,
    prices_topic: str = normalized(Kind.PRICES),
    rules_topic: str = USER_ALERT_RULES,
    alerts_topic: str = USER_ALERTS,
    checkpoint_topic: str = CHECKPOINTS,
    group_id: str = GROUP_ID,
    consumer_config: dict[str, object] | None = None,
) -> WorkerMetrics:
    """The engine as ``lucent worker alerts`` runs it, until ``stop`` (topics overridable
    for tests)."""
    engine = AlertEngine(
        alerts_config(settings.alerts_config), clock_ms=clock_ms,
        out_topic=alerts_topic, rules_topic=rules_topic,
    )  # fmt: skip
    return run_worker(
        settings,
        bootstrap,
        group_id=group_id,
        subscribe=[prices_topic],
        processor=engine,
        stop=stop,
        instance_id=settings.instance_id,
        consumer_config=consumer_config or CONSUMER_OVERRIDES,
        checkpoint_topic=checkpoint_topic,
    )


def main(settings: Settings, endpoints: Endpoints) -> None:
    tune_gc_for_streaming()
    metrics = run(settings, endpoints.kafka_bootstrap_servers, StopSignal().install())
    log.info("alert engine stopped: %s", metrics.log_line())
