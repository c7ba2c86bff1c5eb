"""The worker runtime: a micro-batch consume → process → produce → commit loop.

``run_worker`` drives any ``Processor`` (pure stages over ``InRecord`` batches) with
at-least-once or exactly-once delivery, regex subscriptions, backpressure, graceful shutdown
and ``WorkerMetrics``. DESIGN.md decision 4 says why it is our own loop on confluent-kafka.
"""

from __future__ import annotations

from streaming.runtime.loop import run_worker
from streaming.runtime.metrics import Histogram, WorkerMetrics
from streaming.runtime.output import DeliveryFailed
from streaming.runtime.records import InRecord, Output, Processor, Result

__all__ = [
    "DeliveryFailed",
    "Histogram",
    "InRecord",
    "Output",
    "Processor",
    "Result",
    "WorkerMetrics",
    "run_worker",
]
