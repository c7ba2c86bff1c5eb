"""Latency p50/p99 from a worker's Prometheus metrics (the text a ``/metrics`` endpoint serves).

The histograms searched, in order of preference: end-to-end latency (exchange → this worker,
from the envelopes' timestamps), then processing latency. Their names are the metrics
module's (``lucent_`` prefix, seconds as Prometheus recommends); the first one a worker
serves with observations gives its p50/p99, summed over its labels (topics, stages).
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client.parser import text_string_to_metric_families

from lucent_platform.status.snapshot import histogram_quantile

LATENCY_HISTOGRAMS: Sequence[str] = (
    "lucent_e2e_latency_seconds",
    "lucent_end_to_end_latency_seconds",
    "lucent_processing_latency_seconds",
)


def handled_total(text: str) -> float | None:
    """Records the worker has handled so far: its stages' ``lucent_messages_in`` (consumed), or
    for a feed its publisher's delivered envelopes; ``None`` when it exports neither. Two of
    these over an interval give the rate of a worker that commits no offsets."""
    consumed = delivered = None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "lucent_messages_in_total":
                consumed = (consumed or 0.0) + sample.value
            elif sample.name == "lucent_published_total" and (
                sample.labels.get("outcome") == "delivered"
            ):
                delivered = (delivered or 0.0) + sample.value
    return consumed if consumed is not None else delivered


def latency_ms(text: str) -> tuple[float | None, float | None]:
    """(p50, p99) in milliseconds of the first of ``LATENCY_HISTOGRAMS`` with observations."""
    buckets: dict[str, dict[float, float]] = {}
    for family in text_string_to_metric_families(text):
        if family.name not in LATENCY_HISTOGRAMS:
            continue
        summed = buckets.setdefault(family.name, {})
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                le = float(sample.labels["le"])
                summed[le] = summed.get(le, 0.0) + sample.value
    for name in LATENCY_HISTOGRAMS:
        pairs = list(buckets.get(name, {}).items())
        p50 = histogram_quantile(0.5, pairs)
        if p50 is not None:
            p99 = histogram_quantile(0.99, pairs)
            return p50 * 1000, (p99 * 1000 if p99 is not None else None)
    return None, None
