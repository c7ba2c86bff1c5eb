"""Domain events: commands/s through the bridge with acks, and opportunity → recommendation.

    .venv/bin/python -m benchmarks.domain_events [--commands 5000] [--rate 20] [--seconds 15]

Real services as ``lucent up`` starts them: the Tansu broker, nats-server (JetStream, file
store) and the embedded event store (SQLite, synchronous=FULL), on loopback.

1. **Bridge throughput**: ``--commands`` yield opportunities already in
   ``yield.opportunities``; the bridge reads them in batches of 500, publishes each batch's
   commands concurrently and awaits every JetStream ack before committing. Rate = commands
   acknowledged / (last ack − first record consumed).
2. **Domain throughput**: the same commands, now waiting in JetStream, through one domain
   worker (opportunity event + recommendation on one portfolio stream + announcements each).
3. **End to end**: bridge and domain worker running; opportunities produced one by one at
   ``--rate``/s for ``--seconds`` (each a new pool, so each gets a recommendation);
   latency = the record handed to the producer → its ``PositionRecommendationEvent``
   received by a plain NATS subscriber on ``trading.position.recommended``. p50/p99 printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings
from lucent_platform.domain.config import DomainConfig
from lucent_platform.stack import services
from lucent_platform.stack.ports import LOOPBACK, free_port
from lucent_platform.topics import YIELD_OPPORTUNITIES
from tests.domain_flow import (
    Listener,
    bridge_in_thread,
    domain_in_thread,
    produce,
    provision_topics,
    wait_until,
    yield_signal,
)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = Settings(_env_file=None, data_dir=root / "lucent")  # type: ignore[call-arg]
        kafka_port, nats_port = free_port(), free_port()
        broker = services.kafka_broker(kafka_port, root)
        nats = services.nats_server(nats_port, root / "nats", root)
        for service in (broker, nats):
            service.start()
            service.wait_ready()
        bootstrap, url = f"{LOOPBACK}:{kafka_port}", f"nats://{LOOPBACK}:{nats_port}"
        try:
            provision_topics(settings, bootstrap)
            report = {
                **bridge_throughput(settings, bootstrap, url, args.commands),
                **domain_throughput(settings, url, root, args.commands),
                **end_to_end(settings, bootstrap, url, root, args.rate, args.seconds),
            }
        finally:
            nats.stop()
            broker.stop()
    print(json.dumps(report, indent=2))


def bridge_throughput(settings: Settings, bootstrap: str, url: str, n: int) -> dict[str, float]:
    records = [yield_signal(f"bulk-{i}", protocol=f"bulk-{i % 50}")[0] for i in range(n)]
    produce(settings, bootstrap, YIELD_OPPORTUNITIES, records)
    with bridge_in_thread(settings, bootstrap, url) as bridge:
        wait_until(lambda: bridge.counts["consumed"] > 0, 60, "first record")
        started = time.monotonic()
        wait_until(lambda: bridge.counts["published"] >= n, 120, "every ack")
        elapsed = time.monotonic() - started
    return {"bridge_commands": n, "bridge_commands_per_s": round(n / elapsed, 1)}


def domain_throughput(settings: Settings, url: str, root: Path, n: int) -> dict[str, float]:
    """The bridge's commands, waiting in JetStream, through one domain worker: each an event
    on its opportunity stream and a recommendation on one portfolio stream, announced."""
    config = DomainConfig(
        portfolio="bulk", capital_usd=1e9, max_share_per_venue=0.00002, risk_budget=1.0
    )
    with domain_in_thread(settings, url, root / "events.sqlite3", config) as domain:
        wait_until(lambda: domain.counts["acked"] > 0, 60, "first command")
        started, first = time.monotonic(), domain.counts["acked"]
        wait_until(lambda: domain.counts["acked"] >= n, 600, "every command")
        elapsed = time.monotonic() - started
    return {"domain_commands_per_s": round((n - first) / elapsed, 1)}


def end_to_end(
    settings: Settings, bootstrap: str, url: str, root: Path, rate: float, seconds: float
) -> dict[str, float]:
    config = DomainConfig(
        portfolio="bench", capital_usd=10_000_000.0, max_share_per_venue=0.0005, risk_budget=1.0
    )
    producer = kafka.producer(settings, bootstrap)
    sent: dict[str, float] = {}
    received: dict[str, float] = {}
    with (
        Listener(settings, url, ["trading.position.recommended"]) as listener,
        domain_in_thread(settings, url, root / "events.sqlite3", config),
        bridge_in_thread(settings, bootstrap, url),
    ):
        time.sleep(5)  # the bridge's group join (≈3 s on the local broker)
        count = int(rate * seconds)
        for i in range(count):
            pool = f"e2e-{i}"
            value, _ = yield_signal(pool, protocol=f"e2e-{i}")
            sent[pool] = time.monotonic()
            producer.produce(YIELD_OPPORTUNITIES, value, pool.encode())
            producer.poll(0)
            time.sleep(1.0 / rate)
        producer.flush(10)
        wait_until(
            lambda: listener_snapshot(listener, received) >= count, 60, "every recommendation"
        )
    latencies = [(received[p] - sent[p]) * 1000 for p in sent if p in received]
    return {
        "e2e_opportunities": len(latencies),
        "e2e_p50_ms": round(statistics.median(latencies), 1),
        "e2e_p99_ms": round(quantile(latencies, 0.99), 1),
        "e2e_max_ms": round(max(latencies), 1),
    }


def listener_snapshot(listener: Listener, received: dict[str, float]) -> int:
    """Recommendations received so far, by pool, with their arrival times."""
    for body, arrived in listener.arrivals("trading.position.recommended"):
        received.setdefault(body["data"]["instrument"], arrived)
    return len(received)


if __name__ == "__main__":
    main()
