"""The metrics objects this process's workers keep, as its Prometheus endpoint reads them.

A worker hands over what it already counts (``WorkerMetrics``, ``SinkMetrics``, a feed's
``counts``, a publisher) once, when it builds it; the endpoint (``streaming.metrics_server``)
reads them at scrape time, so nothing is counted twice and the hot path gains nothing. The
objects are held weakly: a worker that ends (a test's, a bounded run's) drops out by itself.
Dependency-free, so the runtime can hand its metrics over without loading prometheus-client.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal[
    "stage", "sink", "bridge", "lag", "venue", "chain", "publisher", "sources", "broker", "monitor"
]
"""How to read the object: a runtime stage (``WorkerMetrics``), the ClickHouse sink
(``SinkMetrics``), the NATS bridge (``WorkerMetrics`` with publish counts), a consumer's
lag (``lag``: records behind per (topic, partition)), a venue feed or a
chain feed (``counts``, and ``gauges`` for chains), a Kafka publisher (``counts``), the
processor's per-source message ages (``sources``: a ``processing.latency.SourceLatency``),
the broker's health (``broker``: a ``streaming.broker_watch.BrokerWatch``), the stream
monitor's findings (``monitor``: a ``streaming.monitor.MonitorWorker``, its ``figures``)."""


@dataclass(frozen=True)
class Exposed:
    kind: Kind
    name: str
    """The stage's consumer group, the feed's exchange or chain, the publisher's role."""
    obj: Any


_lock = threading.Lock()
_held: list[tuple[Kind, str, weakref.ref[Any]]] = []


def expose(kind: Kind, name: str, obj: Any) -> None:
    """Show ``obj`` on this process's metrics endpoint (if it serves one) until it is gone."""
    with _lock:
        _held.append((kind, name, weakref.ref(obj)))


def exposed() -> list[Exposed]:
    """Every object still alive, in the order handed over (forgetting the ones gone)."""
    alive: list[Exposed] = []
    with _lock:
        kept = []
        for kind, name, ref in _held:
            obj = ref()
            if obj is not None:
                alive.append(Exposed(kind, name, obj))
                kept.append((kind, name, ref))
        _held[:] = kept
    return alive
