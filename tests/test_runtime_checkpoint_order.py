"""Periodic window checkpoints wait for the outputs before them, without holding the loop.

The rule of ``streaming/runtime/checkpoints.py``: a checkpoint is written only once every
output of the records before it is durable. ``after_inflight`` keeps it without a drain: the
checkpoint is handed to the producer when the batches produced before it are acknowledged.
"""

from __future__ import annotations

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings
from lucent_platform.topics import TopicSpec
from streaming.runtime import Output, WorkerMetrics
from streaming.runtime.guarantees import AtLeastOnce
from streaming.runtime.output import OutputSink
from tests.test_runtime_loop import create_topics, read_values


def test_checkpoint_waits_for_earlier_outputs_but_not_the_loop(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    out, checkpoints = f"{unique}.out", f"{unique}.checkpoints"
    create_topics(settings, kafka_bootstrap, TopicSpec(out, 1), TopicSpec(checkpoints, 1))
    consumer = kafka.consumer(settings, kafka_bootstrap, f"{unique}-group")
    producer = kafka.producer(settings, kafka_bootstrap)
    metrics = WorkerMetrics()
    sink = OutputSink(
        producer, metrics, pause=lambda: None, resume=lambda: None, max_outstanding=10_000
    )
    guarantee = AtLeastOnce(consumer, sink, metrics)
    try:
        batch = [Output(out, str(i).encode(), str(i).encode()) for i in range(100)]
        guarantee.produce(batch, {}, [])
        guarantee.after_inflight([Output(checkpoints, b"group/in/0", b'{"next":100}')])

        # Not handed to the producer yet: only the batch is queued, and nothing waited.
        assert len(producer) == len(batch)
        assert guarantee.inflight[-1].then

        guarantee.drain()  # what the loop's later commits do, here all at once
        assert producer.flush(10) == 0
        assert len(read_values(settings, kafka_bootstrap, out, expect=100)) == 100
        assert read_values(settings, kafka_bootstrap, checkpoints, expect=1) == [b'{"next":100}']

        # With nothing in flight the checkpoint goes straight to the producer.
        guarantee.after_inflight([Output(checkpoints, b"group/in/0", b'{"next":101}')])
        assert len(producer) == 1
        assert producer.flush(10) == 0
    finally:
        consumer.close()
