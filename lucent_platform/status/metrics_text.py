"""A worker's figures from its Prometheus metrics (the text a ``/metrics`` endpoint serves).

Latency p50/p99 is the worker's own: ``lucent_input_latency_seconds`` (its input's timestamp →
its outputs durable), summed over its stages. The processor's exchange → application latency
(``lucent_exchange_latency_seconds``) is per source — venue clocks and block times differ too
much for one figure — and is the dashboard's. The names are ``streaming.metrics_server``'s
(``lucent_`` prefix, seconds as Prometheus recommends).
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client.parser import text_string_to_metric_families

from lucent_platform.status.snapshot import histogram_quantile

LATENCY_HISTOGRAMS: Sequence[str] = (
    "lucent_input_latency_seconds",
    "lucent_end_to_end_latency_seconds",  # its name before, served by a worker not restarted yet
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


def consumer_lag(text: str) -> int | None:
    """Records the worker's own consumers are behind, summed over ``lucent_consumer_lag``
    (per partition, or a JetStream consumer's pending count); ``None`` when it exports none.
    For workers that commit no offsets as a group (the agents' follower, the domain
    handlers), whose lag the groups' offsets cannot give."""
    lag = None
    for family in text_string_to_metric_families(text):
        if family.name == "lucent_consumer_lag":
            for sample in family.samples:
                lag = (lag or 0) + int(sample.value)
    return lag


def latency_ms(text: str) -> tuple[float | None, float | None]:
    """(p50, p99) in milliseconds of the first of ``LATENCY_HISTOGRAMS`` with observations."""
    for name in LATENCY_HISTOGRAMS:
        pairs = list(histogram(text, name).items())
        p50 = histogram_quantile(0.5, pairs)
        if p50 is not None:
            p99 = histogram_quantile(0.99, pairs)
            return p50 * 1000, (p99 * 1000 if p99 is not None else None)
    return None, None


def histogram(text: str, family: str, **labels: str) -> dict[float, float]:
    """Cumulative counts per upper bound (``le``, seconds) of histogram ``family``, summed
    over its series whose labels include ``labels``. Two of these from one worker subtract
    into the histogram of what it observed in between (``lucent chaos soak``'s minutes)."""
    summed: dict[float, float] = {}
    for found in text_string_to_metric_families(text):
        if found.name != family:
            continue
        for sample in found.samples:
            if sample.name.endswith("_bucket") and _matches(sample.labels, labels):
                le = float(sample.labels["le"])
                summed[le] = summed.get(le, 0.0) + sample.value
    return summed


def total(text: str, sample_name: str, **labels: str) -> float:
    """The sum of the samples named ``sample_name`` (a counter's ``…_total``, a gauge) whose
    labels include ``labels``; 0 when there are none."""
    found = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == sample_name and _matches(sample.labels, labels):
                found += sample.value
    return found


def _matches(have: dict[str, str], want: dict[str, str]) -> bool:
    return all(have.get(key) == value for key, value in want.items())
