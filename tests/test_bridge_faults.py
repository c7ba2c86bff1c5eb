"""``lucent worker bridge`` killed with SIGKILL mid-stream and restarted, as the real process,
on a broker and a nats-server of its own, while signals keep arriving.

The bridge promises at-least-once delivery into JetStream with ``Nats-Msg-Id`` = the command
id: what the killed process published but had not committed is read and published again by
the next one, and JetStream drops the repeats. So the ``SIGNALS`` stream must hold every
command once — in == out, zero duplicates — and the group must have committed to the end.
(NATS restarted under a running bridge: tests/test_domain_flow.py.)
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from pathlib import Path

import pytest

from lucent_platform.adapters import kafka_groups
from lucent_platform.adapters import nats as nats_adapter
from lucent_platform.config import Settings
from lucent_platform.domain.commands import command_id_for
from lucent_platform.lag import group_lag
from lucent_platform.topics import YIELD_OPPORTUNITIES
from tests.domain_flow import produce, provision_topics, wait_until, yield_signal
from tests.fixtures.nats import RestartableNats
from tests.worker_process import start_worker, worker_env

N = 3_000
RATE = 250  # signals/s: about 12 s of input
GROUP = "lucent-bridge"


async def _stream_ids(url: str) -> list[str]:
    """The ``Nats-Msg-Id`` of every message in the SIGNALS stream, in order."""
    client = await nats_adapter.connect(Settings(_env_file=None), url)  # type: ignore[call-arg]
    try:
        js = nats_adapter.jetstream(client)
        last = (await js.stream_info("SIGNALS")).state.last_seq
        ids = []
        for seq in range(1, last + 1):
            message = await js.get_msg("SIGNALS", seq)
            ids.append((message.headers or {}).get("Nats-Msg-Id", "?"))
        return ids
    finally:
        await client.close()


async def _stream_count(url: str) -> int:
    client = await nats_adapter.connect(Settings(_env_file=None), url)  # type: ignore[call-arg]
    try:
        return int((await nats_adapter.jetstream(client).stream_info("SIGNALS")).state.messages)
    except Exception:  # not provisioned yet
        return 0
    finally:
        await client.close()


@pytest.mark.slow
def test_a_bridge_killed_mid_stream_and_restarted_publishes_every_command_once(
    own_broker: str, own_nats: RestartableNats, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    provision_topics(settings, own_broker)
    signals = [yield_signal(f"pool-{i}") for i in range(N)]
    sent = [0]

    def publish() -> None:
        began = time.monotonic()
        for start in range(0, N, 50):
            time.sleep(max(0.0, start / RATE - (time.monotonic() - began)))
            produce(settings, own_broker, YIELD_OPPORTUNITIES,
                    [value for value, _ in signals[start : start + 50]])  # fmt: skip
            sent[0] = start + 50

    env = worker_env(tmp_path, own_broker, own_nats.url)
    log = tmp_path / "bridge.log"
    producer = threading.Thread(target=publish, daemon=True)
    producer.start()
    first = start_worker("bridge", env, log)
    count = lambda: asyncio.run(_stream_count(own_nats.url))  # noqa: E731
    wait_until(lambda: count() >= N // 3, 120, "a third of the commands", every=0.25)
    first.send_signal(signal.SIGKILL)
    assert first.wait(30) == -signal.SIGKILL
    killed_at, at_kill = time.monotonic(), (sent[0], count())
    second = start_worker("bridge", env, log)
    try:
        producer.join(120)
        partitions = [p for p in kafka_groups.partitions(settings, own_broker)
                      if p[0] == YIELD_OPPORTUNITIES]  # fmt: skip

        def caught_up() -> bool:
            committed = kafka_groups.committed(settings, own_broker, [GROUP], partitions)[GROUP]
            ends = kafka_groups.ends(settings, own_broker, partitions)
            return group_lag(ends, committed) == 0 and count() >= N

        wait_until(caught_up, 120, "every signal committed and published", every=0.25)
        recovered = time.monotonic() - killed_at
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0, log.read_text()[-3000:]
    ids = asyncio.run(_stream_ids(own_nats.url))
    expected = {command_id_for(message_id) for _, message_id in signals}
    print(
        f"\nbridge SIGKILLed with {at_kill[0]} of {N} signals sent, {at_kill[1]} commands in "
        f"JetStream; restarted: {len(ids)} commands in the stream ({len(set(ids))} distinct), "
        f"all committed {recovered:.1f} s after the kill"
    )
    assert set(ids) == expected  # in == out
    assert len(ids) == N  # the repeats were dropped by Nats-Msg-Id
    assert at_kill[0] < N, "the kill came after the last signal: not mid-stream"
