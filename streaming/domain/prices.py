"""Live prices for the domain worker: a thread following ``market.prices.all`` into a board.

No consumer group and no commits: each instance assigns itself every partition, starts a
little before the end (``warm_records`` per partition, so a fresh start knows the current
prices at once) and follows from there. The board is read under a lock by the worker.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import TypeVar

from confluent_kafka import TopicPartition

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings
from lucent_platform.domain.events import SourceRecord
from lucent_platform.domain.prices import PriceBoard
from lucent_platform.topics import Kind, normalized

log = logging.getLogger(__name__)
T = TypeVar("T")


class PriceFollower:
    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        board: PriceBoard,
        *,
        topic: str | None = None,
        warm_records: int = 500,
    ) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.board = board
        self.topic = topic or normalized(Kind.PRICES)
        self.warm_records = warm_records
        self.lock = threading.Lock()
        self.updates = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="price-follower", daemon=True)

    def start(self) -> PriceFollower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def read(self, use: Callable[[PriceBoard], T]) -> T:
        with self.lock:
            return use(self.board)

    def _follow(self) -> None:
        group = f"lucent-domain-prices-{uuid.uuid4().hex[:8]}"  # never joined, never committed
        consumer = kafka.consumer(self.settings, self.bootstrap, group)
        try:
            partitions = self._partitions(consumer)
            consumer.assign(partitions)
            while not self._stop.is_set():
                messages = consumer.consume(500, 0.2)
                with self.lock:
                    for m in messages:
                        if m.error() is None:
                            source = SourceRecord(
                                m.topic() or "", m.partition() or 0, m.offset() or 0
                            )
                            self.updates += self.board.update_from(m.value(), source)  # type: ignore[arg-type]
        except Exception:
            log.exception("price follower stopped: rebalancing checks have no new prices")
        finally:
            consumer.close()

    def _partitions(self, consumer: object) -> list[TopicPartition]:
        while not self._stop.is_set():
            metadata = consumer.list_topics(self.topic, timeout=10)  # type: ignore[attr-defined]
            topic = metadata.topics.get(self.topic)
            if topic is not None and topic.error is None and topic.partitions:
                break
            self._stop.wait(1.0)  # not created yet: the stack provisions it
        else:
            return []
        out = []
        for p in sorted(topic.partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=10)  # type: ignore[attr-defined]
            out.append(TopicPartition(self.topic, p, max(low, high - self.warm_records)))
        return out
