"""The live market state, followed from ``market.prices.all`` without a consumer group.

Every instance of the agents service answers for every pair, so each reads every partition
(assigned, never joined or committed), starting ``warmup_ms`` back in event time so that the
venues that quoted lately are known at once (a time seek that works on the local broker too,
``adapters.kafka_time``). Records that do not decode are counted and skipped: the processor
wrote them, and dead-lettering is its job.

Counts and times go into the worker's ``WorkerMetrics`` (``consumed``, ``updates``,
``ignored``, ``undecodable``; ``end_to_end_ms``: a record's Kafka timestamp → in the market),
and ``lag`` per partition is measured in the polling thread, as the runtime's loop does, for
the metrics endpoint.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from confluent_kafka import Consumer

from lucent_platform.adapters import kafka, kafka_time
from lucent_platform.agents.market import LiveMarket
from lucent_platform.config import Settings
from lucent_platform.envelope import EnvelopeError, decode
from lucent_platform.messages import PriceUpdate
from streaming.lifecycle import StopSignal
from streaming.runtime.lag import LAG_EVERY_S, Partition, consumer_lag
from streaming.runtime.metrics import WorkerMetrics

log = logging.getLogger(__name__)

CLIENT_ID = "lucent-agents"  # never joined or committed: names the consumer in broker logs


class PriceFollower:
    """A group-less consumer of the prices topic feeding a ``LiveMarket``."""

    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        topic: str,
        market: LiveMarket,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.topic = topic
        self.market = market
        self.metrics = metrics or WorkerMetrics()
        self.counts = self.metrics.counts
        self.lag: dict[Partition, int] = {}  # read by the metrics endpoint (streaming.exposed)
        self._consumer: Consumer | None = None
        self._partitions: list[Partition] = []
        self._lag_at = 0.0

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
        self._partitions = [(tp.topic, tp.partition) for tp in starts]
        log.info("following %s from %d partitions", self.topic, len(starts))
        return True

    def poll(self, timeout: float = 0.2) -> list[tuple[bytes, int]]:
        """The next batch of (record value, Kafka timestamp ms), blocking up to ``timeout``:
        call it in a thread (the only one calling the consumer, which measures lag too)."""
        assert self._consumer is not None, "start() first"
        records = []
        for message in self._consumer.consume(1000, timeout):
            value = message.value()
            if message.error() is None and value is not None:
                records.append((value, message.timestamp()[1]))
        now = time.monotonic()
        if now >= self._lag_at:
            self.lag = consumer_lag(self._consumer, self._partitions)
            self._lag_at = now + LAG_EVERY_S
        return records

    def apply(self, records: Sequence[tuple[bytes, int]]) -> None:
        """Decode and add to the market (in the thread that answers queries)."""
        counts = self.counts
        counts["consumed"] += len(records)
        for value, _ in records:
            try:
                envelope = decode(value, PriceUpdate)
            except EnvelopeError:
                counts["undecodable"] += 1
                continue
            counts["updates" if self.market.add(envelope) else "ignored"] += 1
        done_ms = time.time_ns() // 1_000_000
        self.metrics.end_to_end_ms.observe_many(
            done_ms - stamp for _, stamp in records if 0 < stamp <= done_ms
        )

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
