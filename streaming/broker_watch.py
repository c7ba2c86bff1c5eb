"""Broker-side health sampled in the background: ``lucent worker monitor`` runs one.

Every ``BROKER_SAMPLE_EVERY_S`` a daemon thread reads a ``BrokerSample`` through the admin API
(``adapters/kafka_health.py``: its own admin client and probe consumer, never the worker's)
and keeps the ``BrokerHealth`` the core derives from it (``lucent_platform.brokerhealth``),
rebalances counted between samples; the metrics endpoint reads the latest one
(``streaming.broker_metrics``). A failed sample is counted and logged, and the previous
health stays on the endpoint until the next one succeeds.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from confluent_kafka import KafkaException

from lucent_platform.adapters import kafka_health
from lucent_platform.brokerhealth import BrokerHealth, RebalanceCounter, broker_health
from lucent_platform.config import Settings
from streaming.exposed import expose

log = logging.getLogger(__name__)

BROKER_SAMPLE_EVERY_S = 15.0
"""How often the monitor samples the broker: a few admin requests and one probe read."""


class BrokerWatch:
    """The latest ``BrokerHealth`` (``None`` before the first sample) and sample counts."""

    def __init__(self, settings: Settings, bootstrap: str) -> None:
        self.settings, self.bootstrap = settings, bootstrap
        self.health: BrokerHealth | None = None
        self.samples: Counter[str] = Counter()  # ok, failed
        self._rebalances = RebalanceCounter()

    def sample(self) -> BrokerHealth:
        """Read the broker once and keep what it says."""
        sampled = kafka_health.sample(self.settings, self.bootstrap)
        self.health = broker_health(sampled, self._rebalances.observe(sampled.groups))
        self.samples["ok"] += 1
        return self.health

    def run(self, stop: threading.Event, every_s: float) -> None:
        while not stop.is_set():
            try:
                self.sample()
            except KafkaException as exc:
                self.samples["failed"] += 1
                log.warning("broker health not sampled (%s); trying again in %.0fs", exc, every_s)
            stop.wait(every_s)


@contextmanager
def watching_broker(
    settings: Settings, bootstrap: str, every_s: float = BROKER_SAMPLE_EVERY_S
) -> Iterator[BrokerWatch]:
    """A ``BrokerWatch`` sampling in a daemon thread, on the metrics endpoint, for the
    length of the block."""
    watch = BrokerWatch(settings, bootstrap)
    expose("broker", "cluster", watch)
    stop = threading.Event()
    thread = threading.Thread(
        target=watch.run, args=(stop, every_s), name="broker-watch", daemon=True
    )
    thread.start()
    try:
        yield watch
    finally:
        stop.set()
        thread.join(timeout=30)
