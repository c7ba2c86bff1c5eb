"""Publishing to Kafka for feeds: raw topics created on first use, delivery errors counted.

Idempotent producer with the platform's defaults (acks=all). Topics a feed writes to are
provisioned from the catalog the first time they are seen, so a new instrument needs no
manual step. ``flush()`` before a worker exits; nothing is dropped silently: a failed
delivery is logged and counted, and so is a record over the producer's ``message.max.bytes``
(``too_large``), refused at ``produce`` before any broker sees it, which would otherwise stop
the feed.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings
from lucent_platform.envelope import Envelope, encode
from lucent_platform.topics import RAW_PARTITIONS, TopicSpec, partition_key, raw_topic

log = logging.getLogger(__name__)


class Publisher:
    """Produce (topic, key, value) records; count what was sent, delivered and failed."""

    def __init__(self, settings: Settings, bootstrap_servers: str, **overrides: Any) -> None:
        self.settings = settings
        self.bootstrap_servers = bootstrap_servers
        self._overrides = overrides
        self._producer: Any = None
        self._known_topics: set[str] = set()
        self.counts: Counter[str] = Counter()

    @property
    def producer(self) -> Any:
        if self._producer is None:  # connect lazily, never in __init__
            self._producer = kafka.producer(
                self.settings, self.bootstrap_servers, **self._overrides
            )
        return self._producer

    def ensure_topics(self, topics: set[str]) -> None:
        missing = topics - self._known_topics
        if not missing:
            return
        admin = kafka.admin(self.settings, self.bootstrap_servers)
        results = kafka.provision(
            admin,
            [TopicSpec(name, RAW_PARTITIONS) for name in sorted(missing)],
            replication_factor=self.settings.replication_factor,
            min_insync_replicas=self.settings.min_insync_replicas,
        )
        for result in results:
            if result.status.startswith("failed"):
                raise RuntimeError(f"cannot create topic {result.topic}: {result.status}")
        self._known_topics |= missing

    def publish(self, topic: str, key: bytes | None, value: bytes) -> None:
        if topic not in self._known_topics:
            self.ensure_topics({topic})
        while True:
            try:
                self.producer.produce(topic, value=value, key=key, on_delivery=self._delivered)
                break
            except BufferError:  # local queue full: let deliveries drain (backpressure)
                self.producer.poll(0.05)
            except KafkaException as exc:  # refused before sending: drop it, say so, go on
                if exc.args[0].code() != KafkaError.MSG_SIZE_TOO_LARGE:
                    raise
                self.counts["too_large"] += 1
                log.error(
                    "not published to %s: %d bytes, over the producer's message.max.bytes "
                    "(a hostile or broken frame; market messages are a few kB)",
                    topic,
                    len(value),
                )
                return
        self.counts["sent"] += 1
        self.producer.poll(0)

    def publish_envelope(self, envelope: Envelope[Any]) -> None:
        """An envelope to its raw topic, keyed as the catalog says."""
        kind = envelope.header.message_type
        self.publish(
            raw_topic(kind, envelope.data), partition_key(kind, envelope.data), encode(envelope)
        )

    def _delivered(self, error: KafkaError | None, message: Message) -> None:
        if error is None:
            self.counts["delivered"] += 1
        else:
            self.counts["failed"] += 1
            log.error("delivery to %s failed: %s", message.topic(), error)

    def flush(self, timeout: float = 30.0) -> int:
        """Wait for every queued record; returns how many are still undelivered."""
        if self._producer is None:
            return 0
        return int(self._producer.flush(timeout))
