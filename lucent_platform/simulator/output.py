"""What the simulator hands out: one message for one raw topic."""

from __future__ import annotations

import msgspec

from lucent_platform.simulator.anomalies import Anomaly


class SimulatedMessage(msgspec.Struct, frozen=True, gc=False):
    """One message for a raw topic: Kafka topic, key and value, plus what tests need.

    A frozen msgspec Struct rather than a dataclass: made for every message, it is ten times
    cheaper to construct (0.1 µs against 1.2 µs measured).

    ``value`` is an encoded envelope (or, for ``injected="malformed"``, bytes that are not one);
    ``key`` is what ``topics.partition_key`` gives for it (the pair, or the protocol for
    yields). ``event_time_ms`` is the envelope's event time (for malformed bytes, when they
    were sent); ``received_time_ms`` is when our simulated connector got it, the order in which
    messages come out. ``injected`` names the anomaly the message carries, if any.
    """

    topic: str
    key: bytes | None
    value: bytes
    event_time_ms: int
    injected: Anomaly | None
    received_time_ms: int
