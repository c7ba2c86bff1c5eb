"""The broker's health on a worker's metrics endpoint: the latest sample of every exposed
``BrokerWatch`` (``streaming.broker_watch``; the monitor runs one), read at scrape time.

Registered beside ``metrics_server.WorkerCollector`` by ``metrics_server.registry_for``; like
its families, these are described on every endpoint and have samples only where a watch runs.
The README's "Metrics" section lists them.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from lucent_platform.brokerhealth import BrokerHealth
from streaming.exposed import exposed


class BrokerCollector(Collector):
    def __init__(self, worker: str) -> None:
        self.worker = worker

    def collect(self) -> Iterator[Metric]:
        watches = [item.obj for item in exposed() if item.kind == "broker"]
        w, c, g = [self.worker], CounterMetricFamily, GaugeMetricFamily
        samples = c(
            "lucent_broker_samples", "Broker health samples taken, by outcome (ok, failed).",
            labels=[*w, "outcome"],
        )  # fmt: skip
        brokers = g("lucent_brokers", "Brokers in the cluster's metadata.", labels=w)
        topic = [*w, "topic"]
        skew = g(
            "lucent_topic_partition_skew",
            "Records in the topic's largest partition over the mean per partition (1: even).",
            labels=topic,
        )
        leader_skew = g(
            "lucent_topic_leader_skew",
            "Most partitions of the topic one broker leads over the mean per broker (1: even).",
            labels=topic,
        )
        leaders = g(
            "lucent_partition_leaders", "Partitions of the topic each broker leads.",
            labels=[*topic, "broker"],
        )  # fmt: skip
        under = g(
            "lucent_under_replicated_partitions",
            "Partitions of the topic with fewer in-sync replicas than replicas.",
            labels=topic,
        )
        offline = g(
            "lucent_offline_partitions", "Partitions of the topic without a leader.", labels=topic
        )
        group = [*w, "group"]
        members = g("lucent_group_members", "Members the consumer group has.", labels=group)
        state = g(
            "lucent_group_state", "1 for the consumer group's current state.",
            labels=[*group, "state"],
        )  # fmt: skip
        rebalances = c(
            "lucent_group_rebalances",
            "Rebalances of the consumer group seen between broker samples (a lower bound: "
            "the workers' lucent_rebalances_total counts every one).",
            labels=group,
        )
        for watch in watches:
            for outcome in ("ok", "failed"):
                samples.add_metric([self.worker, outcome], watch.samples.get(outcome, 0))
            health: BrokerHealth | None = watch.health
            if health is None:
                continue
            brokers.add_metric(w, health.brokers)
            for t in health.topics:
                labels = [self.worker, t.topic]
                skew.add_metric(labels, t.record_skew)
                leader_skew.add_metric(labels, t.leader_skew)
                under.add_metric(labels, t.under_replicated)
                offline.add_metric(labels, t.offline)
                for broker, n in t.leaders:
                    leaders.add_metric([*labels, str(broker)], n)
            for grp in health.groups:
                labels = [self.worker, grp.group]
                if grp.members is not None:  # unknown where the broker lists none
                    members.add_metric(labels, grp.members)
                state.add_metric([*labels, grp.state], 1)
                rebalances.add_metric(labels, grp.rebalances)
        yield from (samples, brokers, skew, leader_skew, leaders, under, offline, members, state,
                    rebalances)  # fmt: skip
