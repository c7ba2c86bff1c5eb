"""Gather one ``Snapshot`` of the running platform: every read is bounded in time, and a part
that cannot be read becomes a note instead of failing the whole status.

Sources: the stack's endpoints (``stack.json`` or the settings) probed for real, the
supervisor's worker records (``workers.json``) and the processes themselves, the consumer
groups' committed offsets sampled twice (rate) against the partitions' ends (lag), each
worker's metrics endpoint when it serves one (latency), ClickHouse's freshness query, and the
monitor's open alerts (``lucent_platform.monitoring.status``).
"""

from __future__ import annotations

import contextlib
import socket
import time
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from urllib.parse import urlsplit

from lucent_platform.brokerhealth import BrokerHealth, broker_health
from lucent_platform.config import Settings
from lucent_platform.lag import Partition, group_lag
from lucent_platform.stack.endpoints import Endpoints, read_stack_file, resolve
from lucent_platform.stack.errors import StackError
from lucent_platform.stack.process import alive
from lucent_platform.stack.worker_records import WorkerRecord, read_records
from lucent_platform.status.snapshot import (
    WORKER_GROUPS,
    OpenAlert,
    ServiceStatus,
    Snapshot,
    SourceFreshness,
    WorkerStatus,
    commit_rate,
    worker_state,
)

PROBE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Sample:
    """The groups' committed offsets and the workers' metrics at one moment: the start of the
    next rate interval."""

    at: float  # time.monotonic()
    committed: dict[str, dict[Partition, int]]
    handled: dict[str, float]  # worker → records handled, from its metrics (no group: rate)
    metrics: dict[str, str]  # worker → its /metrics text at that moment


def gather(
    settings: Settings,
    known_workers: Sequence[str] = (),
    *,
    previous: Sample | None = None,
    rate_interval_s: float = 2.0,
) -> tuple[Snapshot, Sample | None]:
    """The platform now, and the offsets sample to pass as ``previous`` next time (``--watch``).

    Without ``previous`` the rates are measured over ``rate_interval_s`` (the call sleeps that
    long). ``known_workers`` are the registry's names: those the stack did not start are listed
    as ``not started``.
    """
    now_ms = int(time.time() * 1000)
    data_dir = str(settings.data_dir)
    try:
        endpoints = resolve(settings)
    except StackError as exc:
        return Snapshot(now_ms, data_dir, False, str(exc)), None
    local = read_stack_file(settings.data_dir) is not None
    notes: list[str] = []
    services = _services(settings, endpoints)
    up = {s.name: s.up for s in services}
    records = read_records(settings.data_dir) if local else {}
    group_of = {name: WORKER_GROUPS[name] for name in records if name in WORKER_GROUPS}
    host = settings.metrics_host if settings.metrics_host not in ("0.0.0.0", "", "::") else None
    ports = {
        name: (host or "127.0.0.1", r.metrics_port)
        for name, r in records.items()
        if r.metrics_port and r.exit_code is None
    }

    lags: dict[str, int | None] = {}
    rates: dict[str, float | None] = {}
    sample: Sample | None = None
    freshness: tuple[SourceFreshness, ...] = ()
    alerts: tuple[OpenAlert, ...] | None = None
    broker: BrokerHealth | None = None
    # The reads wait on different services (and the rate on the clock): overlap them.
    with ThreadPoolExecutor(max_workers=4) as pool:
        offsets = None
        if (up["kafka"] and group_of) or ports:
            groups = sorted(set(group_of.values())) if up["kafka"] else []
            offsets = pool.submit(
                _measure, settings, endpoints.kafka_bootstrap_servers, groups, ports, previous,
                rate_interval_s,
            )  # fmt: skip
        fresh = recent = health = None
        if up["clickhouse"]:
            fresh = pool.submit(_freshness, settings, endpoints.clickhouse_url, notes)
        if up["kafka"]:
            recent = pool.submit(_alerts, settings, endpoints, notes)
            health = pool.submit(_broker, settings, endpoints.kafka_bootstrap_servers, notes)
        if offsets is not None:
            try:
                lags, rates, sample = offsets.result()
            except Exception as exc:  # the broker's errors are not importable here (layering)
                notes.append(f"consumer offsets and metrics: {exc}")
        if fresh is not None:
            freshness = fresh.result()
        if recent is not None:
            alerts = recent.result()
        if health is not None:
            broker = health.result()
    metrics = sample.metrics if sample else {}
    for name, (_, port) in ports.items():
        if name not in metrics:
            notes.append(f"metrics of {name}: no answer on port {port}")
    workers = _workers(records, known_workers, group_of, lags, rates, metrics, local)
    where = f"the stack running on {data_dir}" if local else "the services the settings name"
    down = [s.name for s in services if not s.up]
    message = f"{where}: " + (f"DOWN: {', '.join(down)}" if down else "every service answers")
    snapshot = Snapshot(
        now_ms, data_dir, True, message, services, workers, freshness, alerts, tuple(notes),
        broker,
    )  # fmt: skip
    return snapshot, sample


def _services(settings: Settings, endpoints: Endpoints) -> tuple[ServiceStatus, ...]:
    found = [
        _kafka(settings, endpoints.kafka_bootstrap_servers),
        _tcp("nats", endpoints.nats_url, 4222, banner=b"INFO "),
        _http("clickhouse", endpoints.clickhouse_url, "/ping"),
        _eventstore(endpoints.eventstore),
    ]
    if endpoints.dagster_url:
        found.append(_http("dagster", endpoints.dagster_url, "/server_info"))
    return tuple(found)


def _kafka(settings: Settings, bootstrap: str) -> ServiceStatus:
    from lucent_platform.adapters.kafka import KafkaUnavailable, check_reachable

    try:
        check_reachable(settings, bootstrap, timeout=PROBE_TIMEOUT_S)
    except KafkaUnavailable as exc:
        return ServiceStatus("kafka", bootstrap, False, str(exc))
    return ServiceStatus("kafka", bootstrap, True, "metadata answered")


def _tcp(name: str, url: str, default_port: int, banner: bytes = b"") -> ServiceStatus:
    parts = urlsplit(url if "://" in url else f"tcp://{url}")
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S) as conn:
            if banner and not conn.recv(4096).startswith(banner):
                return ServiceStatus(name, url, False, "answered, but not as expected")
    except OSError as exc:
        return ServiceStatus(name, url, False, f"not reachable ({exc.strerror or exc})")
    return ServiceStatus(name, url, True, "answered" if banner else "port open")


def _http(name: str, url: str, path: str) -> ServiceStatus:
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    try:
        with urllib.request.urlopen(base + path, timeout=PROBE_TIMEOUT_S) as response:
            ok = response.status == 200
    except OSError as exc:
        return ServiceStatus(name, base, False, f"not reachable ({exc})")
    return ServiceStatus(name, base, ok, f"GET {path} answered" if ok else "unhealthy")


def _eventstore(where: str) -> ServiceStatus:
    if "://" in where:
        status = _tcp("eventstore", where, 2113)
        return ServiceStatus("eventstore", where, status.up, status.detail)
    if Path(where).is_file():
        return ServiceStatus("eventstore", where, True, "embedded store file present")
    return ServiceStatus("eventstore", where, False, "embedded store file missing")


def _measure(
    settings: Settings,
    bootstrap: str,
    groups: list[str],
    ports: dict[str, tuple[str, int]],
    previous: Sample | None,
    interval_s: float,
) -> tuple[dict[str, int | None], dict[str, float | None], Sample]:
    """Lag and commit rate per group, the rate of each worker without a group from its metrics
    (keyed by worker name), and the sample that ends the interval (it holds each worker's
    metrics text, for the latencies)."""
    from lucent_platform.adapters import kafka_groups

    on = kafka_groups.partitions(settings, bootstrap) if groups else []

    def take() -> Sample:
        committed = kafka_groups.committed(settings, bootstrap, groups, on) if groups else {}
        texts = {name: text for name, at in ports.items() if (text := _scrape(*at)) is not None}
        handled = {
            name: count for name, text in texts.items() if (count := _handled(text)) is not None
        }
        return Sample(time.monotonic(), committed, handled, texts)

    if previous is None:
        previous = take()
        time.sleep(interval_s)
    sample = take()
    # Lag over the topics each group reads: those where it committed any partition.
    reads = {
        group: {topic for (topic, _), offset in committed.items() if offset >= 0}
        for group, committed in sample.committed.items()
    }
    read = set().union(*reads.values())
    ends = kafka_groups.ends(settings, bootstrap, [p for p in on if p[0] in read]) if read else {}
    lags: dict[str, int | None] = {}
    rates: dict[str, float | None] = {}
    for group in groups:
        committed = sample.committed[group]
        lags[group] = group_lag({p: e for p, e in ends.items() if p[0] in reads[group]}, committed)
        before = previous.committed.get(group, {})
        rates[group] = commit_rate(before, committed, sample.at - previous.at)
    for name in ports:
        if name not in WORKER_GROUPS:
            rates[name] = _handled_rate(previous, sample, name)
    return lags, rates, sample


def _handled_rate(previous: Sample, sample: Sample, name: str) -> float | None:
    before, after = previous.handled.get(name), sample.handled.get(name)
    elapsed = sample.at - previous.at
    if before is None or after is None or elapsed <= 0 or after < before:
        return None
    return (after - before) / elapsed


def _scrape(host: str, port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=2.0) as response:
            return str(response.read().decode())
    except OSError:
        return None


def _handled(text: str) -> float | None:
    from lucent_platform.status.metrics_text import handled_total

    try:
        return handled_total(text)
    except ValueError:  # not the exposition format
        return None


def _workers(
    records: dict[str, WorkerRecord],
    known: Sequence[str],
    group_of: dict[str, str],
    lags: dict[str, int | None],
    rates: dict[str, float | None],
    metrics: dict[str, str],
    local: bool,
) -> tuple[WorkerStatus, ...]:
    from lucent_platform.status.metrics_text import consumer_lag, latency_ms

    names = list(known) + [name for name in records if name not in known]
    found = []
    for name in names:
        record = records.get(name)
        if record is None:
            found.append(WorkerStatus(name, "not started" if local else "unknown"))
            continue
        state = worker_state(alive(record.pid), record.exit_code)
        group = group_of.get(name)
        p50 = p99 = None
        lag = lags.get(group) if group else None
        if state == "running" and name in metrics:
            with contextlib.suppress(ValueError):  # not the exposition format: no latency
                p50, p99 = latency_ms(metrics[name])
                if not group:  # no group offsets: the lag its own consumers measured
                    lag = consumer_lag(metrics[name])
        rate = rates.get(group or name) if state == "running" else None
        found.append(
            WorkerStatus(
                name,
                state,
                record.pid,
                record.exit_code,
                group,
                lag,
                rate,
                p50,
                p99,
                record.log,
                record.restarts,
                record.reason if state == "crashed" else None,
            )
        )
    return tuple(found)


def _freshness(settings: Settings, url: str, notes: list[str]) -> tuple[SourceFreshness, ...]:
    from lucent_platform.adapters.clickhouse import connect, credentials
    from lucent_platform.analytics.queries.freshness import freshness

    try:
        client = connect(
            url,
            **credentials(settings),
        )
        try:
            rows = freshness(client, database=settings.clickhouse_database)
        finally:
            client.close()
    except Exception as exc:  # the client's errors are not importable here (layering)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        notes.append(f"freshness: {first[:200]} (see `lucent clickhouse status`)")
        return ()
    return tuple(
        SourceFreshness(
            r.table,
            r.source,
            r.venue,
            int(r.last_event.replace(tzinfo=r.last_event.tzinfo or UTC).timestamp() * 1000),
            float(r.age_s),
            int(r.rows_5m),
        )
        for r in rows
    )


def _broker(settings: Settings, bootstrap: str, notes: list[str]) -> BrokerHealth | None:
    """Partition balance, replication and consumer groups from the admin API (``None``: it
    could not be read). One reading: no rebalances are counted (the monitor's metrics do)."""
    from lucent_platform.adapters.kafka_health import sample

    try:
        return broker_health(sample(settings, bootstrap), {})
    except Exception as exc:  # the broker's errors are not importable here (layering)
        notes.append(f"broker: {exc}")
        return None


def _alerts(
    settings: Settings, endpoints: Endpoints, notes: list[str]
) -> tuple[OpenAlert, ...] | None:
    """The monitor's alerts still open, newest first (``None``: the topic could not be read)."""
    from lucent_platform.monitoring.status import open_alerts

    try:
        found = open_alerts(settings, endpoints)
    except Exception as exc:  # the broker's errors are not importable here (layering)
        notes.append(f"alerts: {exc}")
        return None
    return tuple(
        OpenAlert(a.opened_at_ms, f"{a.kind} {a.source}", a.severity, a.detail)
        for a in sorted(found, key=lambda a: a.opened_at_ms, reverse=True)
    )
