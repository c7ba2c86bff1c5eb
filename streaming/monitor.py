"""``lucent worker monitor``: data-quality alerts from the normalized topics and the dead
letters → ``monitoring.alerts`` (Kafka, keyed by alert id) and ``monitoring.alerts.{kind}``
(NATS JetStream, stream ``MONITORING``).

Reads every ``market.{kind}.all`` and ``market.deadletter`` (group ``lucent-monitor``, from
the latest offsets at a first start: monitoring is about now), feeds the pure
``lucent_platform.monitoring.Monitor`` and asks it every ``evaluate_every_ms`` what opened or
resolved; each transition is produced to Kafka and published to JetStream with
``Nats-Msg-Id`` = its transition id, so a repeat is dropped. JetStream down: the
transitions wait and are published again at every evaluation until acknowledged; Kafka has
them already. At start the alerts still open on the topic are taken over, so a restart
resolves them rather than opening them twice.

One instance only: a second one in the group would get half the partitions and see every
source through half its pairs (intervals learned too long, deviations over fewer venues). So
at start the monitor takes the lock ``DATA_DIR/<group>.lock`` (a second monitor on this
machine is refused at once; a killed one's lock goes with its process), then describes its
group and refuses (``AnotherMonitor``) while the broker lists live members — Kafka's group
coordinator is the lock across machines; a member left by a killed monitor expires with its
session (``LUCENT_KAFKA_SESSION_TIMEOUT_MS``), which it waits out. A broker that describes a
group as live but lists no members (the local Tansu, which also keeps a SIGKILLed member's
group "stable" for good) cannot tell a live monitor from a dead one: there the machine's lock
is the whole check, and the monitor says so in its log.

After a stop it resumes from its committed offsets and reads the backlog first: until every
assigned partition has reached its end once (``enable.partition.eof``) it judges no freshness
(no ``stale_source``, no ``missing_source``), since the newest record it has seen is old. Then
a source is judged by its newest record: one whose records run up to now is fresh, one that
stopped during the stop is stale at once.

A loop of its own, like the bridge's (``streaming/bridge/worker.py``), not ``run_worker``:
it needs a NATS output next to Kafka's and a clock-driven evaluation, and no window state.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import Message, TopicPartition
from nats.errors import Error as NatsError

from lucent_platform.adapters import kafka, kafka_groups
from lucent_platform.adapters import nats as nats_adapter
from lucent_platform.config import Settings
from lucent_platform.messages.monitoring import MonitoringAlert
from lucent_platform.monitoring import records
from lucent_platform.monitoring.alerts import envelope_bytes, still_open, subject, transition_id
from lucent_platform.monitoring.config import MonitorConfig, monitor_config
from lucent_platform.monitoring.monitor import Figures, Monitor
from lucent_platform.stack.endpoints import Endpoints
from lucent_platform.stack.errors import StackError
from lucent_platform.topics import DEADLETTER, MONITORING_ALERTS, Kind, normalized
from streaming.broker_watch import watching_broker
from streaming.domain.connection import connect_until_up, provision
from streaming.exposed import expose
from streaming.lifecycle import InstanceLock, StopSignal
from streaming.runtime.consume import next_batch
from streaming.runtime.metrics import WorkerMetrics

log = logging.getLogger(__name__)

GROUP_ID = "lucent-monitor"
CONSUMER_OVERRIDES = {"auto.offset.reset": "latest"}
NORMALIZED = tuple(normalized(kind) for kind in Kind)


def clock_ms() -> int:
    return time.time_ns() // 1_000_000


class AnotherMonitor(StackError):
    """The monitor's consumer group has live members: another monitor runs."""


class MonitorWorker:
    """One monitor: a consumer, a producer for the alerts topic, a NATS connection.
    ``metrics.counts``: ``consumed``, ``messages``, ``failures``, ``opened``, ``resolved``,
    ``published``, ``duplicates``, ``publish_retries``, ``consume_errors``."""

    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        nats_url: str,
        stop: StopSignal,
        *,
        config: MonitorConfig | None = None,
        normalized_topics: Sequence[str] = NORMALIZED,
        deadletter_topic: str = DEADLETTER,
        alerts_topic: str = MONITORING_ALERTS,
        group_id: str = GROUP_ID,
        consumer_config: dict[str, Any] | None = None,
        clock: Callable[[], int] = clock_ms,
        batch_size: int = 1000,
        publish_timeout_s: float = 2.0,
        log_every_s: float = 30.0,
        takeover_wait_s: float | None = None,
    ) -> None:
        self.settings, self.bootstrap, self.nats_url, self.stop = (
            settings,
            bootstrap,
            nats_url,
            stop,
        )
        self.config = config or monitor_config(settings.monitor_config)
        self.normalized_topics = frozenset(normalized_topics)
        self.deadletter_topic = deadletter_topic
        self.alerts_topic = alerts_topic
        self.group_id = group_id
        self.consumer_config = consumer_config or CONSUMER_OVERRIDES
        self.clock = clock
        self.batch_size = batch_size
        self.publish_timeout_s = publish_timeout_s
        self.log_every_s = log_every_s
        # a killed monitor's membership lasts one session: wait that out before refusing
        self.takeover_wait_s = (
            settings.kafka_session_timeout_ms / 1000 + 1
            if takeover_wait_s is None
            else takeover_wait_s
        )
        self.lock = InstanceLock(settings.data_dir / f"{group_id}.lock")
        self.metrics = WorkerMetrics()
        # read like the bridge's: consumed in, published to NATS out, the rest as events
        expose("bridge", group_id, self.metrics)
        self.monitor = Monitor(self.config, started_ms=clock(), caught_up=False)
        self.figures = Figures(caught_up=False)  # replaced at each evaluation
        self.at_end: set[tuple[str, int]] = set()  # partitions read to their end once
        expose("monitor", group_id, self)  # open alerts, failure rates, source ages

    def run(self) -> WorkerMetrics:
        asyncio.run(self._run())
        return self.metrics

    async def _run(self) -> None:
        client = await connect_until_up(self.settings, self.nats_url, self.stop, name="monitor")
        if client is None:
            return
        js = nats_adapter.jetstream(client)
        producer = kafka.producer(self.settings, self.bootstrap)
        consumer = None
        try:
            await provision(self.settings, js)
            await asyncio.to_thread(self._only_instance)
            taken = await asyncio.to_thread(
                kafka.read_topic, self.settings, self.bootstrap, self.alerts_topic
            )
            self.monitor.restore(still_open(r.value for r in taken))
            consumer = kafka.consumer(
                self.settings,
                self.bootstrap,
                self.group_id,
                **{**self.consumer_config, "enable.partition.eof": True},
            )
            consumer.subscribe([*sorted(self.normalized_topics), self.deadletter_topic])
            log.info("monitor: %d alert(s) still open taken over", len(self.monitor.open_alerts))
            pending: list[MonitoringAlert] = []  # not yet acknowledged by JetStream
            next_eval = next_log = 0.0
            while not self.stop.stopped:
                batch = await asyncio.to_thread(self._next_batch, consumer)
                if batch:
                    self._observe(consumer, batch)
                if not self.monitor.caught_up:
                    self._catch_up(consumer)
                now = self.clock()
                if now >= next_eval:
                    next_eval = now + self.config.evaluate_every_ms
                    changes = self.monitor.evaluate(now)
                    self.figures = self.monitor.figures(now)
                    if changes:
                        self._produce(producer, changes)
                        pending += changes
                    if pending:
                        pending = await self._publish(js, pending)
                if time.monotonic() >= next_log:
                    next_log = time.monotonic() + self.log_every_s
                    log.info("monitor: %s", self._log_line())
        finally:
            if consumer is not None:
                consumer.close()
            producer.flush(10)
            await client.close()
            self.lock.release()
            log.info("monitor stopped: %s", self._log_line())

    def _only_instance(self) -> None:
        """Refuse to start while another monitor holds this machine's lock, or while the group
        has live members the broker lists (after waiting out a session)."""
        holder = self.lock.acquire()
        if holder is not None:
            raise AnotherMonitor(
                f"another monitor is running: pid {holder or '?'} on this machine holds "
                f"{self.lock.path} for consumer group {self.group_id}; stop it (one monitor "
                "per broker: a second would see each source through part of its partitions "
                "and raise false alerts)"
            )
        deadline = time.monotonic() + self.takeover_wait_s
        while (group := kafka_groups.describe(self.settings, self.bootstrap, self.group_id)).live:
            if not group.members:
                log.info(
                    "monitor: the broker describes group %s as %s but lists no members (the "
                    "local broker does so for live and killed members alike): one monitor is "
                    "enforced by %s on this machine only", self.group_id, group.state,
                    self.lock.path,
                )  # fmt: skip
                return
            if time.monotonic() >= deadline or self.stop.stopped:
                raise AnotherMonitor(
                    f"another monitor is running: {_members(group)} in consumer group "
                    f"{self.group_id} on {self.bootstrap} (state {group.state}); stop it (one "
                    "monitor per broker: a second would see each source through part of its "
                    "partitions and raise false alerts), or point this one at another broker "
                    "with LUCENT_KAFKA_BOOTSTRAP_SERVERS"
                )
            time.sleep(0.5)

    def _catch_up(self, consumer: Any) -> None:
        """Caught up once every assigned partition has reached its end (see the module)."""
        assigned = {(tp.topic, tp.partition) for tp in consumer.assignment()}
        if assigned and assigned <= self.at_end:
            self.monitor.caught_up = True
            log.info(
                "monitor: caught up (%d records read, %d partitions at their end); "
                "judging freshness from now on",
                self.metrics.counts["consumed"],
                len(assigned),
            )

    def _next_batch(self, consumer: Any) -> list[Message]:
        return next_batch(consumer, self.batch_size, self.metrics.counts, at_end=self.at_end)

    def _observe(self, consumer: Any, batch: list[Message]) -> None:
        counts = self.metrics.counts
        offsets: dict[tuple[str, int], int] = {}
        for m in batch:
            topic, value = m.topic() or "", m.value()
            offsets[(topic, m.partition() or 0)] = (m.offset() or 0) + 1
            if not isinstance(value, bytes):
                continue
            if topic == self.deadletter_topic:
                failure = records.failure(value)
                if failure is not None:
                    self.monitor.failure(failure)
                    counts["failures"] += 1
            elif topic in self.normalized_topics:
                message = records.message(value)
                if message is not None:
                    self.monitor.message(message)
                    counts["messages"] += 1
        counts["consumed"] += len(batch)
        consumer.commit(
            offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=True
        )

    def _produce(self, producer: Any, changes: list[MonitoringAlert]) -> None:
        for alert in changes:
            self.metrics.counts["resolved" if alert.resolved_at_ms else "opened"] += 1
            log.warning(
                "data-quality alert %s %s %s: %s",
                alert.kind,
                alert.source,
                "resolved" if alert.resolved_at_ms else "opened",
                alert.detail,
            )
            producer.produce(self.alerts_topic, envelope_bytes(alert), alert.alert_id.encode())
        if producer.flush(30):
            raise RuntimeError(f"alerts could not be delivered to {self.alerts_topic}")

    async def _publish(self, js: Any, pending: list[MonitoringAlert]) -> list[MonitoringAlert]:
        """Publish each transition; those JetStream did not acknowledge, to try again."""
        results = await asyncio.gather(
            *(
                nats_adapter.publish_once(
                    js,
                    subject(a),
                    envelope_bytes(a),
                    transition_id(a),
                    timeout=self.publish_timeout_s,
                )
                for a in pending
            ),
            return_exceptions=True,
        )
        failed = []
        for alert, result in zip(pending, results, strict=True):
            if isinstance(result, NatsError | OSError | asyncio.TimeoutError):
                failed.append(alert)
            elif isinstance(result, BaseException):
                raise result
            else:
                self.metrics.counts["duplicates" if result else "published"] += 1
        if failed:
            self.metrics.counts["publish_retries"] += len(failed)
            log.warning("monitor: JetStream did not acknowledge %d alert(s); retrying", len(failed))
        return failed

    def _log_line(self) -> str:
        c = self.metrics.counts
        return (
            f"consumed={c['consumed']} messages={c['messages']} failures={c['failures']} "
            f"opened={c['opened']} resolved={c['resolved']} published={c['published']} "
            f"publish_retries={c['publish_retries']} open={len(self.monitor.open_alerts)}"
        )


def _members(group: kafka_groups.Group) -> str:
    return ", ".join(
        f"member {m.member_id} (client {m.client_id}) from host {m.host}" for m in group.members
    )


def run(
    settings: Settings, bootstrap: str, nats_url: str, stop: StopSignal, **options: Any
) -> WorkerMetrics:
    """The monitor as ``lucent worker monitor`` runs it, until ``stop``; beside it, the
    broker's health sampled for the metrics endpoint (``streaming.broker_watch``)."""
    with watching_broker(settings, bootstrap):
        return MonitorWorker(settings, bootstrap, nats_url, stop, **options).run()


def main(settings: Settings, endpoints: Endpoints) -> None:
    run(settings, endpoints.kafka_bootstrap_servers, endpoints.nats_url, StopSignal().install())
