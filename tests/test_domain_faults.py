"""``lucent worker domain`` killed with SIGKILL mid-stream and restarted, as the real process,
on a broker, a nats-server and an event store of its own.

The domain worker promises: a command is acked only after its events are recorded and
announced; a crash before the ack means redelivery, and the handler finds the events already
recorded (event id from the command id) and announces them again (JetStream drops the repeats
by ``Nats-Msg-Id``). So every command must end as exactly one recorded opportunity event —
in == out, zero duplicates in the store — and nothing may stay pending on the consumer.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from lucent_platform.adapters import nats as nats_adapter
from lucent_platform.config import Settings
from lucent_platform.domain import bridge, commands, events
from lucent_platform.eventstore import SQLiteEventStore
from lucent_platform.subjects import STREAMS
from lucent_platform.topics import YIELD_OPPORTUNITIES
from tests.domain_flow import provision_topics, wait_until, yield_signal
from tests.fixtures.nats import RestartableNats
from tests.worker_process import start_worker, worker_env

N = 600
SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]


async def _publish(url: str, payloads: list[tuple[str, bytes, str]]) -> None:
    client = await nats_adapter.connect(SETTINGS, url)
    try:
        js = nats_adapter.jetstream(client)
        await nats_adapter.provision_streams(js, STREAMS, replicas=1)
        for subject, payload, msg_id in payloads:
            await nats_adapter.publish_once(js, subject, payload, msg_id)
    finally:
        await client.close()


async def _pending(url: str) -> int:
    """Commands the domain's durable consumer has not had acknowledged yet (all of them while
    it does not exist)."""
    client = await nats_adapter.connect(SETTINGS, url)
    try:
        consumers = await nats_adapter.jetstream(client).consumers_info("SIGNALS")
        if not consumers:
            return N
        return sum(int(c.num_pending) + int(c.num_ack_pending) for c in consumers)
    finally:
        await client.close()


def _opportunities(path: Path) -> Counter[str]:
    """How often each opportunity stream holds a YieldOpportunityDetected event."""
    if not path.exists():
        return Counter()
    with SQLiteEventStore(path) as store:
        return Counter(
            e.stream_name for e in store.read_all() if e.type == events.YIELD_OPPORTUNITY_DETECTED
        )


@pytest.mark.slow
def test_a_domain_worker_killed_mid_stream_records_every_command_once(
    own_broker: str, own_nats: RestartableNats, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    provision_topics(settings, own_broker)
    store = tmp_path / "events.sqlite"
    payloads = []
    for i in range(N):
        record, _ = yield_signal(f"pool-{i}", protocol=f"proto-{i % 7}")
        command = bridge.command_for(YIELD_OPPORTUNITIES, 0, i, record, 1_795_900_030_000)
        payloads.append((command.type, commands.encode(command), command.command_id))
    asyncio.run(_publish(own_nats.url, payloads))

    env = worker_env(tmp_path, own_broker, own_nats.url)  # the store: data_dir/events.sqlite
    log = tmp_path / "domain.log"
    first = start_worker("domain", env, log)
    wait_until(lambda: sum(_opportunities(store).values()) >= N // 3, 180, "a third recorded", 0.5)
    first.send_signal(signal.SIGKILL)
    assert first.wait(30) == -signal.SIGKILL
    killed_at, at_kill = time.monotonic(), sum(_opportunities(store).values())
    since = log.stat().st_size  # the second life's lines come after this
    second = start_worker("domain", env, log)
    try:
        wait_until(
            lambda: (
                b"domain handlers following" in log.read_bytes()[since:]  # up: not mid-start
                and sum(_opportunities(store).values()) >= N
                and asyncio.run(_pending(own_nats.url)) == 0
            ),
            180, "every command recorded and acknowledged", every=0.5,
        )  # fmt: skip
        recovered = time.monotonic() - killed_at
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0, log.read_text()[-3000:]
    recorded = _opportunities(store)
    print(
        f"\ndomain worker SIGKILLed with {at_kill} of {N} commands recorded; restarted: "
        f"{sum(recorded.values())} opportunity events in {len(recorded)} streams, "
        f"all acknowledged {recovered:.1f} s after the kill"
    )
    assert len(recorded) == N  # in == out
    assert max(recorded.values()) == 1  # no command recorded twice
