"""Does the local broker slow down as it fills? Fetch and transaction speed against records held.

The embedded broker (Tansu, memory storage) keeps every record it was given, so a long run
(``lucent chaos soak``) ends with gigabytes in it. This fills a fresh one step by step with
440-byte records (the size of an envelope) on a topic of its own, and after each step times
what the pipeline asks of it, on a second topic:

- **fetch**: a consumer reading the newest ``probe`` records of a partition (msg/s), from a
  topic that is small, and from the filled topic itself (the partition holding the most);
- **transaction**: begin, produce 500 records, commit (ms each, mean of 20), what an
  exactly-once worker does per batch.

The peer is the same broker empty, in the same run: each figure is also given as a ratio to
its first measurement. Broker RSS is read from ``/proc``.
"""

from __future__ import annotations

import gc
import tempfile
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from lucent_platform.stack import services
from lucent_platform.stack.ports import LOOPBACK, free_port

PAYLOAD = b"x" * 440
FILL, SMALL = "bench.fill", "bench.small"
FILL_PARTITIONS = 4
TRANSACTIONS, PER_TRANSACTION = 20, 500


def run(
    steps: tuple[int, ...] = (0, 500_000, 1_500_000, 3_000_000),
    probe: int = 20_000,
    echo: bool = True,
) -> list[dict[str, float]]:
    """Fill the broker to each of ``steps`` records, measure after each; one row per step."""
    rows: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="lucent-bench-broker-") as tmp:
        port = free_port()
        broker = services.kafka_broker(port, Path(tmp))
        broker.start()
        try:
            broker.wait_ready()
            assert broker.popen is not None
            pid, servers = broker.popen.pid, f"{LOOPBACK}:{port}"
            admin = AdminClient({"bootstrap.servers": servers})
            created = admin.create_topics(
                [NewTopic(FILL, FILL_PARTITIONS, 1), NewTopic(SMALL, 1, 1)]
            )
            for future in created.values():
                future.result()
            producer = Producer({"bootstrap.servers": servers, "linger.ms": 5,
                                 "queue.buffering.max.messages": 500_000})  # fmt: skip
            held = 0
            for step in sorted(steps):
                _produce(producer, FILL, step - held)
                held = step
                _produce(producer, SMALL, probe)
                rows.append({
                    "held": float(held),
                    "broker_rss_mb": _rss_mb(pid),
                    "fetch_small_msg_s": _fetch_rate(servers, SMALL, 0, probe),
                    "fetch_filled_msg_s": _fetch_rate(servers, FILL, 0, probe),
                    "transaction_ms": _transaction_ms(servers, f"bench-{held}"),
                })  # fmt: skip
                if echo:
                    _print_row(rows)
            del producer, admin  # gone before the broker: no disconnect noise from librdkafka
            gc.collect()
        finally:
            broker.stop()
    return rows


def _produce(producer: Producer, topic: str, n: int) -> None:
    for i in range(n):
        while True:
            try:
                producer.produce(topic, PAYLOAD, partition=i % FILL_PARTITIONS if topic == FILL
                                 else 0)  # fmt: skip
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush()


def _fetch_rate(servers: str, topic: str, partition: int, n: int) -> float:
    """Msg/s reading the newest ``n`` records of one partition (fewer if it holds fewer)."""
    consumer = Consumer({"bootstrap.servers": servers, "group.id": "lucent-bench-broker",
                         "enable.auto.commit": False})  # fmt: skip
    try:
        _low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        start = max(high - n, 0)
        consumer.assign([TopicPartition(topic, partition, start)])
        wanted, got = high - start, 0
        started = time.perf_counter()
        while got < wanted:
            got += sum(1 for m in consumer.consume(1000, timeout=5) if not m.error())
        return got / (time.perf_counter() - started)
    finally:
        consumer.close()


def _transaction_ms(servers: str, transactional_id: str) -> float:
    producer = Producer({"bootstrap.servers": servers, "transactional.id": transactional_id,
                         "linger.ms": 5})  # fmt: skip
    producer.init_transactions()
    started = time.perf_counter()
    for _ in range(TRANSACTIONS):
        producer.begin_transaction()
        for _ in range(PER_TRANSACTION):
            producer.produce(SMALL, PAYLOAD, partition=0)
        producer.commit_transaction()
    return (time.perf_counter() - started) / TRANSACTIONS * 1000


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def _print_row(rows: list[dict[str, float]]) -> None:
    first, row = rows[0], rows[-1]
    filled = f"{row['fetch_filled_msg_s']:>9,.0f}" if row["held"] else f"{'-':>9}"
    if len(rows) == 1:
        print(f"local broker, {len(PAYLOAD)}-byte records; ratios against the empty broker:")
    print(
        f"  holding {row['held']:>11,.0f} (RSS {row['broker_rss_mb']:>6,.0f} MiB): fetch "
        f"{row['fetch_small_msg_s']:>9,.0f} msg/s ({_ratio(row, first, 'fetch_small_msg_s')}), "
        f"from the filled topic {filled} msg/s; transaction of "
        f"{PER_TRANSACTION} {row['transaction_ms']:5.1f} ms "
        f"({_ratio(row, first, 'transaction_ms')})",
        flush=True,
    )


def _ratio(row: dict[str, float], first: dict[str, float], key: str) -> str:
    return f"{row[key] / first[key]:.2f}×" if first[key] else "-"
