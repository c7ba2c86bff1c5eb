"""The stream monitor's findings on its metrics endpoint, so Prometheus can alert on them: the
open alerts, the failure rate per source and reason, and each source's age (time since its
newest record), read at scrape time from the ``Figures`` the monitor keeps (its last
evaluation's, ``streaming.monitor``).

Registered beside ``metrics_server.WorkerCollector`` by ``metrics_server.registry_for``. The
families are always described (empty outside the monitor), so the dashboard and the alerting
rules can be checked against them. The README's "Metrics" section lists them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from lucent_platform.monitoring.monitor import Figures
from streaming.exposed import exposed


class MonitorCollector(Collector):
    def __init__(self, worker: str) -> None:
        self.worker = worker

    def collect(self) -> Iterator[Metric]:
        w, g = [self.worker], GaugeMetricFamily
        open_alerts = g(
            "lucent_monitor_open_alerts",
            "1 per data-quality alert the monitor has open (kind: stale_source, "
            "missing_source, failure_rate, price_deviation; source: venue, protocol or pair).",
            labels=[*w, "kind", "source"],
        )
        failure_rate = g(
            "lucent_source_failure_rate",
            "Dead letters / (normalized + dead letters) of a source over the monitor's failure "
            "window, by reason (reason=all: every reason).",
            labels=[*w, "source", "reason"],
        )
        age = g(
            "lucent_source_age_seconds",
            "Seconds since the source's newest periodic record (its receive time), as the "
            "monitor has read them.",
            labels=[*w, "source"],
        )
        caught_up = g(
            "lucent_monitor_caught_up",
            "1 once the monitor has read its backlog (it judges freshness only then).",
            labels=w,
        )
        now_ms = time.time_ns() // 1_000_000
        for item in exposed():
            if item.kind != "monitor":
                continue
            figures: Figures = item.obj.figures  # replaced whole at each evaluation
            caught_up.add_metric(w, 1.0 if figures.caught_up else 0.0)
            for (kind, source), n in figures.open_alerts.items():
                open_alerts.add_metric([*w, kind, source], n)
            for (source, reason), rate in figures.failure_rates.items():
                failure_rate.add_metric([*w, source, "all" if reason == "rate" else reason], rate)
            for source, newest in figures.newest_ms.items():
                age.add_metric([*w, source], max(0, now_ms - newest) / 1000)
        yield from (open_alerts, failure_rate, age, caught_up)
