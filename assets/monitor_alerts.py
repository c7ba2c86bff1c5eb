"""The stream monitor's open alerts in the Dagster UI, as asset checks that fail while an alert
concerns the asset: ``stream_monitor`` on each feed (``feeds/<source>``: stale_source,
missing_source, failure_rate of that source) and ``price_deviation`` on
``kafka/market.prices.all`` (one venue's price far from the others', any pair).

``stream_observations_sensor`` evaluates them every minute from ``monitoring.alerts`` (and
records the open alerts as observation metadata of the same assets); the checks can also be
run by hand from the UI. An alert marked critical (missing_source) fails its check with
severity ERROR, the others with WARN. Built from the settings (the configured sources), like
the feed assets they check.

No ``from __future__ import annotations`` here: Dagster reads the check's annotations.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from assets.keys import feed_key, topic_key
from assets.streams import _source
from lucent_platform import topology
from lucent_platform.config import Settings
from lucent_platform.messages.monitoring import MonitoringAlert
from lucent_platform.monitoring.status import open_alerts_on
from lucent_platform.topics import Kind, normalized
from resources.kafka import KafkaResource

SOURCE_CHECK = "stream_monitor"
DEVIATION_CHECK = "price_deviation"
SOURCE_KINDS = frozenset({"stale_source", "missing_source", "failure_rate"})
PRICES = normalized(Kind.PRICES)


@dataclass(frozen=True)
class Finding:
    """One check's verdict: the asset, the check, passed or not, and what the UI shows."""

    asset: dg.AssetKey
    check: str
    passed: bool
    severity: dg.AssetCheckSeverity
    metadata: dict[str, Any]


def check_specs(settings: Settings) -> list[dg.AssetCheckSpec]:
    raw = topology.raw_topics(settings.exchanges, settings.pairs, settings.feed)
    sources = dict.fromkeys(_source(t) for t in raw)
    specs = [
        dg.AssetCheckSpec(
            SOURCE_CHECK,
            asset=feed_key(source),
            description=f"No stream-monitor alert open for {source} (stale_source, "
            "missing_source, failure_rate on monitoring.alerts).",
        )
        for source in sources
    ]
    specs.append(
        dg.AssetCheckSpec(
            DEVIATION_CHECK,
            asset=topic_key(PRICES),
            description="No price_deviation alert open: every venue quotes each pair within "
            "the monitor's deviation threshold of the median.",
        )
    )
    return specs


def findings(
    alerts: Iterable[MonitoringAlert], specs: Iterable[dg.AssetCheckSpec]
) -> list[Finding]:
    """Each spec's verdict given the open alerts."""
    alerts = list(alerts)
    out = []
    for spec in specs:
        if spec.name == SOURCE_CHECK:
            source = spec.asset_key.path[-1]
            concerned = [a for a in alerts if a.kind in SOURCE_KINDS and a.source == source]
        else:
            concerned = [a for a in alerts if a.kind == "price_deviation"]
        critical = any(a.severity == "critical" for a in concerned)
        out.append(
            Finding(
                spec.asset_key,
                spec.name,
                not concerned,
                dg.AssetCheckSeverity.ERROR if critical else dg.AssetCheckSeverity.WARN,
                alert_metadata(concerned),
            )
        )
    return out


def alert_metadata(alerts: list[MonitoringAlert]) -> dict[str, Any]:
    """``open alerts`` (a count), and when there are some ``alert kinds``, ``alert sources``
    and ``alerts`` (one line each: kind, source, since when, the monitor's detail)."""
    metadata: dict[str, Any] = {"open alerts": len(alerts)}
    if alerts:
        metadata["alert kinds"] = ", ".join(sorted({a.kind for a in alerts}))
        metadata["alert sources"] = ", ".join(sorted({a.source for a in alerts}))
        lines = [
            f"- **{a.kind}** {a.source} ({a.severity}) since "
            f"{datetime.fromtimestamp(a.opened_at_ms / 1000, UTC):%Y-%m-%d %H:%M:%S} UTC: "
            f"{a.detail}"
            for a in alerts
        ]
        metadata["alerts"] = dg.MetadataValue.md("\n".join(lines))
    return metadata


def monitor_alert_checks(settings: Settings) -> dg.AssetChecksDefinition:
    """The checks, runnable from the UI (the sensor evaluates them every minute)."""
    specs = check_specs(settings)

    @dg.multi_asset_check(specs=specs, name="stream_monitor_alerts", can_subset=True)
    def stream_monitor_alerts(
        context: dg.AssetCheckExecutionContext, kafka: KafkaResource
    ) -> Iterator[dg.AssetCheckResult]:
        alerts = open_alerts_on(kafka.settings(), kafka.bootstrap())
        wanted = context.selected_asset_check_keys
        for f in findings(alerts, specs):
            if dg.AssetCheckKey(f.asset, f.check) in wanted:
                yield dg.AssetCheckResult(
                    asset_key=f.asset, check_name=f.check, passed=f.passed,
                    severity=f.severity, metadata=f.metadata,
                )  # fmt: skip

    return stream_monitor_alerts
