"""Every envelope kind survives a round trip through the real broker and real NATS JetStream."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from lucent_platform import topics
from lucent_platform.adapters import kafka
from lucent_platform.adapters import nats as nats_adapter
from lucent_platform.config import Settings
from lucent_platform.envelope import Envelope, decode, encode, message_id_for
from lucent_platform.messages import MESSAGE_TYPES, MessageData
from tests.message_samples import sample_envelope

KINDS = sorted(MESSAGE_TYPES)


def distinct_sample(kind: str) -> Envelope[MessageData]:
    """The kind's sample with a message id of its own (the samples share one)."""
    envelope = sample_envelope(kind)
    header = msgspec.structs.replace(envelope.header, message_id=message_id_for("test", kind))
    return msgspec.structs.replace(envelope, header=header)


def test_every_kind_round_trips_through_kafka(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    topic = f"test.envelopes.{unique}"
    admin = kafka.admin(settings, kafka_bootstrap)
    kafka.provision(
        admin, [topics.TopicSpec(topic, 3)], replication_factor=1, min_insync_replicas=1
    )
    sent = {kind: distinct_sample(kind) for kind in KINDS}
    producer = kafka.producer(settings, kafka_bootstrap)
    for kind, envelope in sent.items():
        key = topics.partition_key(kind, envelope.data)
        assert key, f"{kind} has no partition key"
        producer.produce(topic, value=encode(envelope), key=key)
    assert producer.flush(10) == 0

    records = kafka.read_topic(settings, kafka_bootstrap, topic, limit=len(KINDS))
    received = {decode(r.value).header.message_type: decode(r.value) for r in records if r.value}
    assert received == sent
    for record in records:
        envelope = decode(record.value or b"")
        assert record.key == topics.partition_key(envelope.header.message_type, envelope.data)


def test_every_kind_round_trips_through_nats_jetstream(
    nats_url: str, settings: Settings, unique: str
) -> None:
    async def scenario() -> dict[str, object]:
        client = await nats_adapter.connect(settings, nats_url)
        js = nats_adapter.jetstream(client)
        stream = f"TEST_{unique.upper()}"
        await js.add_stream(name=stream, subjects=[f"test.{unique}.>"])
        for kind in KINDS:
            envelope = distinct_sample(kind)
            headers = {"Nats-Msg-Id": envelope.header.message_id}
            await js.publish(f"test.{unique}.{kind}", encode(envelope), headers=headers)
            # The same message id again is de-duplicated by JetStream.
            ack = await js.publish(f"test.{unique}.{kind}", encode(envelope), headers=headers)
            assert ack.duplicate
        subscriber = await js.pull_subscribe(f"test.{unique}.>", durable=f"d{unique}")
        messages = await subscriber.fetch(len(KINDS) + 5, timeout=2)
        for message in messages:
            await message.ack()
        await client.close()
        return {decode(m.data).header.message_type: decode(m.data) for m in messages}

    received = asyncio.run(scenario())
    assert received == {kind: distinct_sample(kind) for kind in KINDS}


@pytest.mark.parametrize("kind", KINDS)
def test_partition_keys_follow_the_catalog(kind: str) -> None:
    data = sample_envelope(kind).data
    keys = {"price_alert": "user_id", "bridge_transfer": "l2", "pool_swap": "pool",
            "monitoring_alert": "alert_id"}  # fmt: skip
    expected = keys.get(kind) or ("pair" if hasattr(data, "pair") else "protocol")
    assert topics.partition_key(kind, data) == str(getattr(data, expected)).encode()
