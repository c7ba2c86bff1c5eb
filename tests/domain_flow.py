"""Helpers of the domain-event tests: signal records, workers in threads, a NATS listener."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lucent_platform.adapters import kafka
from lucent_platform.adapters import nats as nats_adapter
from lucent_platform.config import Settings
from lucent_platform.domain.config import DomainConfig
from lucent_platform.domain.prices import PriceBoard
from lucent_platform.envelope import encode, new_envelope
from lucent_platform.eventstore import SQLiteEventStore
from lucent_platform.messages import PriceAlert, PriceUpdate, YieldOpportunity
from lucent_platform.topics import fixed_topics
from streaming.bridge.worker import Bridge
from streaming.domain.prices import PriceFollower
from streaming.domain.worker import DomainWorker
from streaming.lifecycle import StopSignal

NOW = 1_795_900_000_000


def yield_signal(
    pool: str, *, apy: float = 8.5, market_id: str | None = None, protocol: str = "aave-v3"
) -> tuple[bytes, str]:
    """A ``yield.opportunities`` record (the design record's 8.5 % APY) and its message id;
    ``market_id`` is the yield rate that caused it (its correlation id)."""
    data = YieldOpportunity(
        protocol=protocol, pool=pool, asset="ETH", chain="ethereum",
        window_start_ms=NOW, window_end_ms=NOW + 300_000, max_apy=apy + 0.2, avg_apy=apy,
        samples=4, tvl_usd=2.5e9, phase="opening",
    )  # fmt: skip
    envelope = new_envelope(
        data, source="lucent-yield", event_time_ms=NOW + 20_000, received_time_ms=NOW + 20_001,
        correlation_id=market_id, causation_id=market_id,
    )  # fmt: skip
    return encode(envelope), envelope.header.message_id


def alert_signal(user: str) -> tuple[bytes, str]:
    data = PriceAlert(
        rule_id="r-1", user_id=user, pair="ETH-USDT", exchange="binance",
        target_price=3000.0, direction="above", price=3010.0,
    )  # fmt: skip
    envelope = new_envelope(data, source="lucent-alerts", event_time_ms=NOW, received_time_ms=NOW)
    return encode(envelope), envelope.header.message_id


def price_update(exchange: str, pair: str, price: float, at_ms: int) -> bytes:
    data = PriceUpdate(exchange=exchange, pair=pair, price=price)
    return encode(new_envelope(data, source=exchange, event_time_ms=at_ms, received_time_ms=at_ms))


def provision_topics(settings: Settings, bootstrap: str) -> None:
    results = kafka.provision(
        kafka.admin(settings, bootstrap),
        fixed_topics(),
        replication_factor=1,
        min_insync_replicas=1,
    )
    assert not [r for r in results if r.status.startswith("failed")]


def produce(
    settings: Settings, bootstrap: str, topic: str, values: list[bytes], key: bytes = b"k"
) -> None:
    producer = kafka.producer(settings, bootstrap)
    for value in values:
        producer.produce(topic, value, key)
    assert producer.flush(10) == 0


class Running:
    """A worker object (``run()`` until its ``stop``) in a thread; its metrics are live."""

    def __init__(self, worker: Any, cleanup: Callable[[], None] = lambda: None) -> None:
        self.worker = worker
        self.cleanup = cleanup
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.worker.run()
        except BaseException as exc:
            self.error = exc
        finally:
            self.cleanup()

    @property
    def counts(self) -> Any:
        return self.worker.metrics.counts


@contextmanager
def running(worker: Any, cleanup: Callable[[], None] = lambda: None) -> Iterator[Running]:
    handle = Running(worker, cleanup)
    handle.thread.start()
    try:
        yield handle
    finally:
        worker.stop.set()
        handle.thread.join(30)
        assert not handle.thread.is_alive(), "worker did not stop"
        if handle.error is not None:
            raise handle.error


def bridge_in_thread(settings: Settings, bootstrap: str, nats_url: str, **options: Any) -> Any:
    return running(Bridge(settings, bootstrap, nats_url, StopSignal(), **options))


def domain_in_thread(
    settings: Settings, nats_url: str, store_path: Path, config: DomainConfig,
    bootstrap: str | None = None, **options: Any,
) -> Any:  # fmt: skip
    """A domain worker on the event store file ``store_path``; with ``bootstrap``, following
    its ``market.prices.all``."""
    store = SQLiteEventStore(store_path)
    follower = None
    if bootstrap is not None:
        follower = PriceFollower(settings, bootstrap, PriceBoard(config.stablecoins)).start()
    worker = DomainWorker(
        settings, nats_url, store, StopSignal(), config=config, prices=follower, **options
    )

    def cleanup() -> None:
        if follower is not None:
            follower.stop()
        store.close()

    return running(worker, cleanup)


class Listener:
    """A plain NATS subscriber (as the trading engine, an agent or a user's app would be) on
    ``subjects``, in a thread of its own; reconnects for ever."""

    def __init__(self, settings: Settings, url: str, subjects: list[str]) -> None:
        self.settings, self.url, self.subjects = settings, url, subjects
        self.received: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.arrived: list[float] = []  # time.monotonic() of each, as it arrived
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def __enter__(self) -> Listener:
        self._thread.start()
        assert self._ready.wait(10), "listener did not connect"
        return self

    def __exit__(self, *_: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        client = await nats_adapter.connect(self.settings, self.url, reconnect_forever=True)

        async def on_message(msg: Any) -> None:
            with self._lock:
                self.received.append((msg.subject, json.loads(msg.data), dict(msg.headers or {})))
                self.arrived.append(time.monotonic())

        for subject in self.subjects:
            await client.subscribe(subject, cb=on_message)
        await client.flush()
        self._ready.set()
        await self._stop.wait()
        await client.close()

    def on(self, subject: str) -> list[dict[str, Any]]:
        with self._lock:
            return [body for s, body, _ in self.received if s == subject]

    def arrivals(self, subject: str) -> list[tuple[dict[str, Any], float]]:
        with self._lock:
            return [
                (body, t)
                for (s, body, _), t in zip(self.received, self.arrived, strict=True)
                if s == subject
            ]

    def wait_for(self, check: Callable[[Listener], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check(self):
                return
            time.sleep(0.05)
        with self._lock:
            seen = [(s, b.get("type")) for s, b, _ in self.received]
        raise AssertionError(f"not seen within {timeout}s; received {seen}")


def wait_until(
    check: Callable[[], bool], timeout: float = 30.0, what: str = "condition", every: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"{what} not met within {timeout}s")
