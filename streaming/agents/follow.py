"""The live market state, followed from ``market.prices.all`` without a consumer group.

Every instance of the agents service answers for every pair, so each reads every partition
(assigned, never joined or committed), starting ``warmup_ms`` back in event time so that the
venues that quoted lately are known at once (a time seek that works on the local broker too,
``adapters.kafka_time``). Records that do not decode are counted and skipped: the processor
wrote them, and dead-lettering is its job.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

from confluent_kafka import Consumer

from lucent_platform.adapters import kafka, kafka_time
from lucent_platform.agents.market import LiveMarket
from lucent_platform.config import Settings
from lucent_platform.envelope import EnvelopeError, decode
from lucent_platform.messages import PriceUpdate
from streaming.lifecycle import StopSignal

log = logging.getLogger(__name__)

CLIENT_ID = "lucent-agents"  # never joined or committed: names the consumer in broker logs


class PriceFollower:
    """A group-less consumer of the prices topic feeding a ``LiveMarket``."""

    def __init__(self, settings: Settings, bootstrap: str, topic: str, market: LiveMarket) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.topic = topic
        self.market = market
        self.counts: Counter[str] = Counter()
        self._consumer: Consumer | None = None

    def start(self, since_ms: int, stop: StopSignal) -> bool:
        """Assign every partition at its first record at or after ``since_ms`` (waiting for the
        topic to exist); False if stopped first. Blocking: call it in a thread."""
        consumer = kafka.consumer(
            self.settings, self.bootstrap, CLIENT_ID, **{"auto.offset.reset": "earliest"}
        )
        self._consumer = consumer
        starts = kafka_time.offsets_at_time(consumer, [self.topic], since_ms, stop.wait)
        if starts is None:
            return False
        consumer.assign(starts)
        log.info("following %s from %d partitions", self.topic, len(starts))
        return True

    def poll(self, timeout: float = 0.2) -> list[bytes]:
        """The next batch of record values (blocking up to ``timeout``: call it in a thread)."""
        assert self._consumer is not None, "start() first"
        values = []
        for message in self._consumer.consume(1000, timeout):
            value = message.value()
            if message.error() is None and value is not None:
                values.append(value)
        return values

    def apply(self, values: Sequence[bytes]) -> None:
        """Decode and add to the market (in the thread that answers queries)."""
        for value in values:
            try:
                envelope = decode(value, PriceUpdate)
            except EnvelopeError:
                self.counts["undecodable"] += 1
                continue
            self.counts["updates" if self.market.add(envelope) else "ignored"] += 1

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
