"""A worker's Prometheus endpoint: prometheus-client's HTTP server over what it already counts.

``serve(settings, worker)`` (``lucent worker NAME`` calls it) listens on ``LUCENT_METRICS_HOST``
:``LUCENT_METRICS_PORT`` (0: no endpoint) and answers ``GET /metrics`` in the standard text
format. One custom collector reads, at scrape time, every object handed to
``streaming.exposed`` — the runtime's ``WorkerMetrics``, the sink's ``SinkMetrics``, the
bridge's, the feeds' ``counts``, the publisher's and the processor's per-source message ages —
so nothing is counted twice. Every name
has the ``lucent_`` prefix and a ``worker`` label (the ``lucent worker`` name); stages are named
by their consumer group (``stage``), feeds by exchange or chain (``source``). The README's
"Metrics" section lists them all.

Histograms come from our fixed log-scale buckets (``streaming.runtime.metrics``) at one bound
per doubling (0.01 ms … ~168 s, in seconds): exact cumulative counts, a doubling wide each.
Consumer lag per partition is what the worker's loop measured last (``streaming.runtime.lag``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from lucent_platform.config import Settings
from lucent_platform.stack.errors import StackError
from streaming.broker_metrics import BrokerCollector
from streaming.exposed import Exposed, exposed
from streaming.monitor_metrics import MonitorCollector
from streaming.runtime.metrics import BUCKET_BOUNDS_MS, Histogram
from streaming.runtime.traffic import REBALANCE_KINDS, Traffic

_EVERY = 4  # one bound per doubling out of the runtime's four
_BOUNDS = [(i, BUCKET_BOUNDS_MS[i]) for i in range(0, len(BUCKET_BOUNDS_MS), _EVERY)]

# Counts that have families of their own, by kind; every other count is an event.
_OWN = {"consumed", "produced", "dead_lettered"}
_SINK_OWN = {"inserts", "insert_failures", "retries", "malformed"}
_BRIDGE_OWN = {"published", "publish_retries", "duplicates"}
_FEED_OWN = {"reconnects", "stale"}
_CHAIN_GAUGES = {
    "head": "head_block",
    "processed_block": "processed_block",
    "block_lag": "block_lag",
}


def histogram_buckets(h: Histogram) -> list[tuple[str, float]]:
    """Cumulative counts at one bound per doubling (in seconds), then ``+Inf``: all from one
    copy of the buckets, so they stay monotonic while the worker's thread keeps observing."""
    buckets = list(h.buckets)
    out: list[tuple[str, float]] = []
    seen = upto = 0
    for index, bound_ms in _BOUNDS:
        seen += sum(buckets[upto : index + 1])
        upto = index + 1
        out.append((repr(bound_ms / 1000.0), float(seen)))
    out.append(("+Inf", float(sum(buckets))))
    return out


class WorkerCollector(Collector):
    """Every exposed object's figures, read when Prometheus scrapes."""

    def __init__(self, worker: str) -> None:
        self.worker = worker

    def collect(self) -> Iterator[Metric]:
        families = _Families(self.worker)
        for item in exposed():
            if item.kind in ("stage", "sink", "bridge"):
                families.stage(item)
            elif item.kind in ("venue", "chain"):
                families.feed(item)
            elif item.kind == "publisher":
                families.publisher(item)
            elif item.kind == "lag":
                families.lag(item)
            elif item.kind == "sources":
                families.sources(item)
        yield from families.all()


class _Families:
    def __init__(self, worker: str) -> None:
        self.worker = worker
        stage, feed = ["worker", "stage"], ["worker", "source"]
        c, g, h = CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
        self.messages_in = c(
            "lucent_messages_in",
            "Records a stage consumed, by input topic.",
            labels=[*stage, "topic"],
        )
        self.messages_out = c(
            "lucent_messages_out",
            "Records a stage handed on: produced to Kafka (by output topic), rows inserted "
            "(sink), published to NATS (bridge) — topic empty for those two.",
            labels=[*stage, "topic"],
        )
        self.batch_size = h("lucent_batch_size", "Records per consumed batch.", labels=stage)
        self.rebalances = c(
            "lucent_rebalances",
            "The stage consumer's rebalance callbacks: partitions assigned, revoked, lost.",
            labels=[*stage, "kind"],
        )
        self.assigned = g(
            "lucent_assigned_partitions", "Partitions the stage's consumer holds.", labels=stage
        )
        self.dead = c(
            "lucent_messages_dead_lettered",
            "Records a stage set aside as dead letters, by reason.",
            labels=[*stage, "reason"],
        )
        self.events = c(
            "lucent_stage_events",
            "Every other count a stage keeps (batches, commits, pauses, duplicates, ...).",
            labels=[*stage, "event"],
        )
        self.batch = h(
            "lucent_batch_duration_seconds",
            "Per batch: consumed → every output handed to the producer.",
            labels=stage,
        )
        self.commit = h(
            "lucent_commit_duration_seconds", "Per offset commit (or transaction).", labels=stage
        )
        self.input_latency = h(
            "lucent_input_latency_seconds",
            "Per record: its outputs durable minus its input's own timestamp (the Kafka "
            "record's: broker → done; the domain worker's: command issued → done). Exchange "
            "→ application is lucent_exchange_latency_seconds.",
            labels=stage,
        )
        source = [*stage, "source"]
        self.exchange_latency = h(
            "lucent_exchange_latency_seconds",
            "Per normalized message, by envelope source: the processor's clock minus the "
            "envelope's event time (exchange → application; block time for on-chain sources).",
            labels=source,
        )
        self.receive_latency = h(
            "lucent_receive_latency_seconds",
            "Per normalized message, by envelope source: the processor's clock minus the "
            "envelope's received time (our connector → application).",
            labels=source,
        )
        self.clock_skew = c(
            "lucent_exchange_clock_skew",
            "Messages whose event or received time was after the processor's clock (not "
            "observed in the latency histograms).",
            labels=source,
        )
        self.rows = c(
            "lucent_clickhouse_rows_inserted", "Rows the sink inserted.", labels=[*stage, "table"]
        )
        self.inserts = c("lucent_clickhouse_inserts", "Insert statements.", labels=stage)
        self.insert_failures = c(
            "lucent_clickhouse_insert_failures", "Insert statements that failed.", labels=stage
        )
        self.insert_retries = c(
            "lucent_clickhouse_insert_retries", "Inserts tried again.", labels=stage
        )
        self.insert_ms = h(
            "lucent_clickhouse_insert_duration_seconds", "Per insert statement.", labels=stage
        )
        self.nats_acks = c(
            "lucent_nats_publish_acks", "Commands JetStream acknowledged as new.", labels=stage
        )
        self.nats_duplicates = c(
            "lucent_nats_publish_duplicates",
            "Commands JetStream acknowledged as duplicates (already published).",
            labels=stage,
        )
        self.nats_retries = c("lucent_nats_publish_retries", "Publishes tried again.", labels=stage)
        self.connected = g(
            "lucent_feed_connected", "1 while the feed's connection is up.", labels=feed
        )
        self.reconnects = c("lucent_feed_reconnects", "Connections lost or dropped.", labels=feed)
        self.stale = c(
            "lucent_feed_stale", "Connections dropped for a stream gone silent.", labels=feed
        )
        self.feed_events = c(
            "lucent_feed_events",
            "Every other count a feed keeps (frames, envelopes, snapshots, logs, reorgs, ...).",
            labels=[*feed, "event"],
        )
        self.chain = {
            key: g(
                f"lucent_chain_{name}", f"The chain feed's {name.replace('_', ' ')}.", labels=feed
            )
            for key, name in _CHAIN_GAUGES.items()
        }
        self.consumer_lag = g(
            "lucent_consumer_lag",
            "Records behind the partition's high watermark, as the stage's own consumer "
            "knows them (its position, the watermark of its last fetch).",
            labels=[*stage, "topic", "partition"],
        )
        self.published = c(
            "lucent_published",
            "Envelopes a feed's Kafka publisher sent, had delivered, or saw fail.",
            labels=["worker", "stage", "outcome"],
        )

    def stage(self, item: Exposed) -> None:
        m, labels = item.obj, [self.worker, item.name]
        counts: Mapping[str, int] = m.counts
        own = set(_OWN)
        traffic: Traffic = m.traffic
        _by_topic(self.messages_in, labels, traffic.topics_in, counts.get("consumed", 0))
        self.batch_size.add_metric(labels, traffic.size_buckets(), float(traffic.batch_total))
        for kind in REBALANCE_KINDS:
            self.rebalances.add_metric([*labels, kind], traffic.rebalances.get(kind, 0))
        self.assigned.add_metric(labels, traffic.assigned)
        self._dead(labels, counts, sink=item.kind == "sink")
        if item.kind == "sink":
            rows = {k.removeprefix("rows."): n for k, n in counts.items() if k.startswith("rows.")}
            own |= _SINK_OWN | {f"rows.{table}" for table in rows}
            self.messages_out.add_metric([*labels, ""], sum(rows.values()))
            for table, n in sorted(rows.items()):
                self.rows.add_metric([*labels, table], n)
            self.inserts.add_metric(labels, counts.get("inserts", 0))
            self.insert_failures.add_metric(labels, counts.get("insert_failures", 0))
            self.insert_retries.add_metric(labels, counts.get("retries", 0))
            self._histogram(self.insert_ms, labels, m.insert_ms)
        elif item.kind == "bridge":
            own |= _BRIDGE_OWN
            self.messages_out.add_metric([*labels, ""], counts.get("published", 0))
            self.nats_acks.add_metric(labels, counts.get("published", 0))
            self.nats_duplicates.add_metric(labels, counts.get("duplicates", 0))
            self.nats_retries.add_metric(labels, counts.get("publish_retries", 0))
        else:
            _by_topic(self.messages_out, labels, traffic.topics_out, counts.get("produced", 0))
        for event, n in sorted(counts.items()):
            if event not in own and not event.startswith("dead."):
                self.events.add_metric([*labels, event], n)
        if item.kind != "sink":  # the sink has no batch timing (see SinkMetrics)
            self._histogram(self.batch, labels, m.batch_ms)
        self._histogram(self.commit, labels, m.commit_ms)
        self._histogram(self.input_latency, labels, m.end_to_end_ms)

    def _dead(self, labels: list[str], counts: Mapping[str, int], *, sink: bool) -> None:
        if sink:
            self.dead.add_metric([*labels, "malformed"], counts.get("malformed", 0))
            return
        reasons = {k.removeprefix("dead."): n for k, n in counts.items() if k.startswith("dead.")}
        unexplained = counts.get("dead_lettered", 0) - sum(reasons.values())
        if unexplained > 0:
            reasons["unspecified"] = unexplained
        for reason, n in sorted(reasons.items()):
            self.dead.add_metric([*labels, reason], n)

    def feed(self, item: Exposed) -> None:
        labels = [self.worker, item.name]
        counts: Mapping[str, int] = item.obj.counts
        # Every connection ends in a reconnect unless the feed is stopping: one more
        # connection than reconnects is a connection up.
        up = counts.get("connections", 0) > counts.get("reconnects", 0)
        self.connected.add_metric(labels, 1.0 if up else 0.0)
        self.reconnects.add_metric(labels, counts.get("reconnects", 0))
        self.stale.add_metric(labels, counts.get("stale", 0))
        for event, n in sorted(counts.items()):
            if event not in _FEED_OWN:
                self.feed_events.add_metric([*labels, event], n)
        if item.kind == "chain":
            gauges: Mapping[str, int] = item.obj.gauges
            for key, family in self.chain.items():
                if key in gauges:
                    family.add_metric(labels, gauges[key])

    def lag(self, item: Exposed) -> None:
        lag: Mapping[tuple[str, int], int] = item.obj.lag
        for (topic, partition), n in sorted(lag.items()):
            self.consumer_lag.add_metric([self.worker, item.name, topic, str(partition)], n)

    def sources(self, item: Exposed) -> None:
        latency = item.obj  # lucent_platform.processing.latency.SourceLatency
        exchange: Mapping[str, Histogram] = dict(latency.exchange)
        received: Mapping[str, Histogram] = dict(latency.received)
        for source in sorted(exchange):
            labels = [self.worker, item.name, source]
            self._histogram(self.exchange_latency, labels, exchange[source])
            self._histogram(self.receive_latency, labels, received[source])
            self.clock_skew.add_metric(labels, latency.skewed.get(source, 0))

    def publisher(self, item: Exposed) -> None:
        counts: Mapping[str, int] = item.obj.counts
        for outcome in ("sent", "delivered", "failed"):
            self.published.add_metric([self.worker, item.name, outcome], counts.get(outcome, 0))

    def _histogram(self, family: HistogramMetricFamily, labels: list[str], h: Histogram) -> None:
        family.add_metric(labels, histogram_buckets(h), h.total / 1000.0)

    def all(self) -> Iterable[Metric]:
        return [v for v in vars(self).values() if isinstance(v, Metric)] + list(self.chain.values())


def _by_topic(
    family: CounterMetricFamily, labels: list[str], by_topic: Mapping[str, int], total: int
) -> None:
    """``total`` split by topic; what no topic accounts for (a worker that does not tell
    topics apart) under ``topic=""``, so a sum over topics is always the total."""
    split = dict(by_topic)
    rest = total - sum(split.values())
    if rest > 0 or not split:
        split[""] = split.get("", 0) + max(rest, 0)
    for topic, n in sorted(split.items()):
        family.add_metric([*labels, topic], n)


def registry_for(worker: str) -> CollectorRegistry:
    """The worker's figures plus the process's own (CPU, memory, open files, Python)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WorkerCollector(worker))
    registry.register(BrokerCollector(worker))
    registry.register(MonitorCollector(worker))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


def serve(settings: Settings, worker: str) -> Any | None:
    """Serve ``worker``'s metrics on ``LUCENT_METRICS_HOST``:``LUCENT_METRICS_PORT`` in a
    daemon thread; the server, or None when the port is 0 (no endpoint). A port already
    taken stops the worker with a message naming the setting."""
    port, host = settings.metrics_port, settings.metrics_host
    if port == 0:
        return None
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry_for(worker))
    except OSError as exc:
        raise StackError(
            f"cannot serve metrics of worker {worker} on {host}:{port} ({exc.strerror}) — stop "
            f"whatever holds it (`lsof -i :{port}`) or set LUCENT_METRICS_PORT to another "
            "port (0 = no metrics endpoint), or LUCENT_METRICS_HOST to an address of this machine"
        ) from None
    return server
