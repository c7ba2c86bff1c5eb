"""Concurrent appends to one portfolio stream: the version conflict is detected by the store
and resolved by re-reading and deciding again, so every recommendation lands, none twice."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from lucent_platform.adapters import nats as nats_adapter
from lucent_platform.config import Settings
from lucent_platform.domain import commands, events
from lucent_platform.domain.bridge import command_for
from lucent_platform.domain.config import DomainConfig
from lucent_platform.eventstore import SQLiteEventStore
from lucent_platform.subjects import STREAMS
from lucent_platform.topics import YIELD_OPPORTUNITIES
from streaming.domain.handler import DomainHandler
from tests.domain_flow import domain_in_thread, wait_until, yield_signal
from tests.fixtures.nats import RestartableNats

CONFIG = DomainConfig(portfolio="race", max_share_per_venue=0.05, risk_budget=1.0)
SMALL = DomainConfig(portfolio="race", max_share_per_venue=0.02, risk_budget=1.0)  # room for 50


class LockstepStore(SQLiteEventStore):
    """The real embedded store; the first read of the portfolio stream in each of two threads
    waits for the other's, so both decide on the same version and race to append."""

    def __init__(self, path: Path, barrier: threading.Barrier) -> None:
        super().__init__(path)
        self.barrier = barrier
        self.waited: set[int] = set()

    def get_stream(self, stream_name: str, **kwargs: Any) -> Any:
        result = super().get_stream(stream_name, **kwargs)
        me = threading.get_ident()
        if stream_name == events.portfolio_stream(CONFIG.portfolio) and me not in self.waited:
            self.waited.add(me)
            self.barrier.wait(10)
        return result


def portfolio(path: Path, name: str) -> list[Any]:
    with SQLiteEventStore(path) as store:
        return list(store.get_stream(events.portfolio_stream(name)))


def test_two_handlers_on_one_portfolio_both_land_through_the_retry(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    with SQLiteEventStore(path) as seed:  # the stream exists: both read version 0
        seed.append_to_stream(
            events.portfolio_stream(CONFIG.portfolio), current_version=None,
            events=[events_opened()],
        )  # fmt: skip
    store = LockstepStore(path, threading.Barrier(2))
    counts: Counter[str] = Counter()
    handlers = [DomainHandler(store, CONFIG, lambda: 1_000, counts) for _ in range(2)]
    cmds = [
        command_for(YIELD_OPPORTUNITIES, 0, i, yield_signal(f"pool-{i}", protocol=f"p{i}")[0], 0)
        for i in range(2)
    ]
    results: list[Any] = [None, None]

    def handle(i: int) -> None:
        results[i] = handlers[i].handle(cmds[i])

    threads = [threading.Thread(target=handle, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    store.close()
    assert counts["version_conflicts"] == 1  # one lost the race, re-read, and appended after
    recorded = portfolio(path, CONFIG.portfolio)
    assert [e.stream_position for e in recorded] == [0, 1, 2]
    recommended = [events.decode_data(e.type, e.data) for e in recorded[1:]]
    assert sorted(r.instrument for r in recommended) == ["pool-0", "pool-1"]  # type: ignore[attr-defined]
    assert {r[1].stream_position for r in results} == {1, 2}


def events_opened() -> Any:
    from lucent_platform.eventstore import NewEvent

    data = events.PortfolioOpened(CONFIG.portfolio, 1.0, {"USDT": 1.0}, {"USDT": 1.0}, 0)
    return NewEvent(events.PORTFOLIO_OPENED, events.encode(data), b"{}")


def test_two_domain_workers_share_the_commands_and_lose_none(
    settings: Settings, own_nats: RestartableNats, tmp_path: Path
) -> None:
    path = tmp_path / "events.sqlite3"
    signals = [yield_signal(f"pool-{i}", protocol=f"proto-{i}") for i in range(30)]
    cmds = [command_for(YIELD_OPPORTUNITIES, 0, i, v, 0) for i, (v, _) in enumerate(signals)]

    async def publish() -> None:
        client = await nats_adapter.connect(settings, own_nats.url)
        try:
            js = nats_adapter.jetstream(client)
            await nats_adapter.provision_streams(js, STREAMS, replicas=1)
            for c in cmds:
                await nats_adapter.publish_once(js, c.type, commands.encode(c), c.command_id)
        finally:
            await client.close()

    asyncio.run(publish())
    with (
        domain_in_thread(settings, own_nats.url, path, SMALL, batch=5) as one,
        domain_in_thread(settings, own_nats.url, path, SMALL, batch=5) as two,
    ):
        wait_until(
            lambda: one.counts["acked"] + two.counts["acked"] == 30, what="all commands acked"
        )
    assert one.counts["acked"] > 0 and two.counts["acked"] > 0  # both took a share
    recorded = portfolio(path, CONFIG.portfolio)
    assert [e.stream_position for e in recorded] == list(range(30))
    instruments = [events.decode_data(e.type, e.data).instrument for e in recorded]  # type: ignore[attr-defined]
    assert sorted(instruments) == sorted(f"pool-{i}" for i in range(30))
