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
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from lucent_platform.adapters import nats as nats_adapter
from lucent_platform.config import Settings
from lucent_platform.domain import bridge, commands, events
from lucent_platform.eventstore import SQLiteEventStore
from lucent_platform.subjects import STREAMS
from lucent_platform.topics import YIELD_OPPORTUNITIES
from tests.domain_flow import provision_topics, yield_signal
from tests.fixtures.nats import RestartableNats

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


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


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

    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "LUCENT_DATA_DIR": str(tmp_path),
        "LUCENT_KAFKA_BOOTSTRAP_SERVERS": own_broker,
        "LUCENT_NATS_URL": own_nats.url,
        "LUCENT_CLICKHOUSE_URL": "http://127.0.0.1:9",  # named, never contacted
        "LUCENT_EVENTSTORE_PATH": str(store),
    }
    argv = [sys.executable, "-m", "lucent_platform.cli", "worker", "domain"]
    log = (tmp_path / "domain.log").open("ab")
    first = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    _wait_until(lambda: sum(_opportunities(store).values()) >= N // 3, "a third recorded")
    first.send_signal(signal.SIGKILL)
    assert first.wait(30) == -signal.SIGKILL
    killed_at, at_kill = time.monotonic(), sum(_opportunities(store).values())
    second = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until(
            lambda: (
                sum(_opportunities(store).values()) >= N
                and asyncio.run(_pending(own_nats.url)) == 0
            ),
            "every command recorded and acknowledged",
        )
        recovered = time.monotonic() - killed_at
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0, (tmp_path / "domain.log").read_text()[-3000:]
    recorded = _opportunities(store)
    print(
        f"\ndomain worker SIGKILLed with {at_kill} of {N} commands recorded; restarted: "
        f"{sum(recorded.values())} opportunity events in {len(recorded)} streams, "
        f"all acknowledged {recovered:.1f} s after the kill"
    )
    assert len(recorded) == N  # in == out
    assert max(recorded.values()) == 1  # no command recorded twice
