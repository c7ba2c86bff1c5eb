"""``lucent worker agents`` killed with SIGKILL while it records predictions, and restarted, as
the real process on a broker and a nats-server of its own.

The predictions recorder promises at-least-once from JetStream to Kafka: a prediction is acked
only once Kafka acknowledged its envelope, so what the killed process had not acked comes back
(after the durable consumer's ack wait) and is recorded again with the same message id (one
row after the sink's merges). Every prediction must be on ``agents.predictions``; repeats are
counted. The request/reply side keeps no state a restart loses: it rebuilds its live market
from ``market.prices.all``.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from lucent_platform.adapters import kafka
from lucent_platform.adapters import nats as nats_adapter
from lucent_platform.config import Settings
from lucent_platform.envelope import decode_as
from lucent_platform.messages import ModelPrediction
from lucent_platform.subjects import STREAMS
from lucent_platform.topics import AGENTS_PREDICTIONS
from streaming.agents.recorder import DURABLE, STREAM
from tests.agent_data import T0, prediction_bytes
from tests.domain_flow import provision_topics, wait_until
from tests.fixtures.nats import RestartableNats
from tests.worker_process import start_worker, worker_env

N = 20_000
SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]


async def _publish(url: str) -> None:
    client = await nats_adapter.connect(SETTINGS, url)
    try:
        js = nats_adapter.jetstream(client)
        await nats_adapter.provision_streams(js, STREAMS, replicas=1)
        for start in range(0, N, 500):
            await asyncio.gather(*(
                js.publish("agents.predictions.m.BTC-USDT",
                           prediction_bytes("m", "BTC-USDT", T0 + i * 60_000))
                for i in range(start, min(N, start + 500))
            ))  # fmt: skip
    finally:
        await client.close()


async def _progress(url: str) -> tuple[int, int]:
    """(predictions acked, predictions not yet acked) on the recorder's durable consumer."""
    client = await nats_adapter.connect(SETTINGS, url)
    try:
        info = await nats_adapter.jetstream(client).consumer_info(STREAM, DURABLE)
        return int(info.ack_floor.stream_seq), int(info.num_pending) + int(info.num_ack_pending)
    except Exception:  # the durable consumer not created yet
        return 0, N
    finally:
        await client.close()


def _recorded(settings: Settings, broker: str) -> Counter[str]:
    records = kafka.read_topic(settings, broker, AGENTS_PREDICTIONS, limit=10 * N, idle_timeout=1.0)
    return Counter(decode_as(r.value or b"", ModelPrediction).header.message_id for r in records)


@pytest.mark.slow
def test_an_agents_worker_killed_while_recording_loses_no_prediction(
    own_broker: str, own_nats: RestartableNats, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    provision_topics(settings, own_broker)
    asyncio.run(_publish(own_nats.url))
    env = worker_env(tmp_path, own_broker, own_nats.url)
    log = tmp_path / "agents.log"
    first = start_worker("agents", env, log)
    progress = lambda: asyncio.run(_progress(own_nats.url))  # noqa: E731
    wait_until(lambda: progress()[0] >= N // 4, 120, "a quarter acked", every=0.05)
    first.send_signal(signal.SIGKILL)
    assert first.wait(30) == -signal.SIGKILL
    killed_at, at_kill = time.monotonic(), progress()[0]
    second = start_worker("agents", env, log)
    try:
        started = lambda: log.read_text().count("agents service: queries") >= 2  # noqa: E731
        wait_until(started, 120, "the restarted worker", every=0.25)
        wait_until(lambda: progress()[1] == 0, 180, "every prediction acked", every=0.5)
        recovered = time.monotonic() - killed_at
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0, log.read_text()[-3000:]
    recorded = _recorded(settings, own_broker)
    repeats = sum(recorded.values()) - len(recorded)
    print(
        f"\nagents SIGKILLed with {at_kill} of {N} predictions acked; restarted: "
        f"{sum(recorded.values())} records, {len(recorded)} distinct, {repeats} repeats, "
        f"all acked {recovered:.1f} s after the kill"
    )
    assert at_kill < N, "the kill came after the last prediction: not mid-stream"
    assert len(recorded) == N  # in == out (distinct)
