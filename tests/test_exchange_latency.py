"""Exchange → application latency, per source, from the envelopes' own times: the processor
run as ``lucent worker processor`` (its own process, ``LUCENT_METRICS_PORT`` set) on the real
broker, fed envelopes whose exchange and receive times are known, scraped over HTTP."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from lucent_platform.config import Settings
from lucent_platform.envelope import encode, new_envelope
from lucent_platform.messages import Liquidity, PriceUpdate
from lucent_platform.processing.latency import SourceLatency
from lucent_platform.stack.ports import free_port
from lucent_platform.topics import raw_topic
from streaming.publisher import Publisher
from tests.test_metrics_endpoints import (
    Samples,
    metrics_env,
    stopped_at_end,  # noqa: F401 (a fixture)
    total,
    wait_for_scrape,
)
from tests.worker_process import provision_fixed_topics, start_worker

STAGE = {"worker": "processor", "stage": "lucent-processor"}


def quote(exchange: str, event_ms: int, received_ms: int, price: float) -> tuple[str, bytes]:
    data = PriceUpdate(
        exchange=exchange, pair="BTC-USDT", price=price, bid=price - 0.5, ask=price + 0.5,
        spread=1.0, liquidity=Liquidity(1.5, 2.5),
    )  # fmt: skip
    envelope = new_envelope(
        data, source=f"{exchange}-websocket", event_time_ms=event_ms, received_time_ms=received_ms
    )
    return raw_topic(data.message_type, data), encode(envelope)


def test_source_latency_counts_a_clock_ahead_instead_of_observing_zero() -> None:
    latency = SourceLatency()
    latency.observe("binance-websocket", 10_000, 7_000, 9_000)
    latency.observe("kraken-websocket", 10_000, 12_000, 12_000)  # both times ahead: once
    latency.observe("kraken-websocket", 10_000, 10_500, 9_500)  # venue clock ahead only
    assert latency.exchange["binance-websocket"].total == 3_000
    assert latency.received["binance-websocket"].total == 1_000
    assert latency.exchange["kraken-websocket"].count == 0
    assert latency.received["kraken-websocket"].count == 1
    assert latency.skewed == {"kraken-websocket": 2}


def test_exchange_latency_is_observed_per_source_from_the_envelopes_times(
    own_broker: str,
    tmp_path: Path,
    stopped_at_end: list[subprocess.Popen[bytes]],  # noqa: F811
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    provision_fixed_topics(settings, own_broker)
    port = free_port()
    worker = start_worker("processor", metrics_env(tmp_path, own_broker, port), tmp_path / "w.log")
    stopped_at_end.append(worker)
    publisher = Publisher(settings, own_broker)

    def send(n: int) -> None:
        now = time.time_ns() // 1_000_000
        for i in range(n):
            # Binance: happened 3 s ago, received 1 s ago. Kraken: 8 s and 6 s ago.
            # Coinbase: its clock a minute ahead of ours (both times in our future).
            for topic, value in (
                quote("binance", now - 3_000 - i, now - 1_000 - i, 60_000.0 + i),
                quote("kraken", now - 8_000 - i, now - 6_000 - i, 60_010.0 + i),
                quote("coinbase", now + 60_000 + i, now + 60_000 + i, 60_020.0 + i),
            ):
                publisher.publish(topic, b"BTC-USDT", value)
        assert publisher.flush(30) == 0

    def seen(s: Samples, name: str, source: str) -> float:
        return total(s, name, source=f"{source}-websocket", **STAGE)

    send(20)
    first = wait_for_scrape(
        port, worker,
        lambda s: seen(s, "lucent_exchange_clock_skew_total", "coinbase") >= 20
        and seen(s, "lucent_exchange_latency_seconds_count", "kraken") >= 20,
        "the first quotes timed",
    )  # fmt: skip
    send(30)
    after = wait_for_scrape(
        port, worker,
        lambda s: seen(s, "lucent_exchange_clock_skew_total", "coinbase") >= 50
        and seen(s, "lucent_exchange_latency_seconds_count", "kraken") >= 50
        and seen(s, "lucent_exchange_latency_seconds_count", "binance") >= 50,
        "every quote timed",
    )  # fmt: skip

    def moved(name: str, source: str) -> float:
        return seen(after, name, source) - seen(first, name, source)

    for source in ("binance", "kraken"):
        assert moved("lucent_exchange_latency_seconds_count", source) == 30
        assert moved("lucent_receive_latency_seconds_count", source) == 30
        assert seen(after, "lucent_exchange_clock_skew_total", source) == 0
    # Exact sums: each message's two latencies share the processor's clock reading, so they
    # differ by exactly its event → received gap (2 s for both venues).
    for source in ("binance", "kraken"):
        gap = seen(after, "lucent_exchange_latency_seconds_sum", source) - seen(
            after, "lucent_receive_latency_seconds_sum", source
        )
        assert gap == pytest.approx(50 * 2.0)
    # Nothing from Binance is under 3 s old, nothing from Kraken under 8 s: the clocks are
    # the envelopes', not the broker's.
    under_3s = sum(
        v
        for (n, labels), v in after.items()
        if n == "lucent_exchange_latency_seconds_bucket"
        and ("source", "binance-websocket") in labels
        and dict(labels)["le"] != "+Inf"
        and float(dict(labels)["le"]) < 2.9
    )
    assert under_3s == 0
    kraken_mean = seen(after, "lucent_exchange_latency_seconds_sum", "kraken") / 50
    assert kraken_mean >= 8.0
    # A clock ahead of ours is counted, never observed as 0.
    assert moved("lucent_exchange_clock_skew_total", "coinbase") == 30
    assert seen(after, "lucent_exchange_latency_seconds_count", "coinbase") == 0
    assert seen(after, "lucent_receive_latency_seconds_count", "coinbase") == 0
    # The broker → done latency keeps its own (honest) name beside them.
    assert total(after, "lucent_input_latency_seconds_count", **STAGE) > 0
