"""``lucent worker bridge``: market signals on Kafka → domain commands on NATS JetStream."""

from __future__ import annotations

from streaming.bridge.worker import GROUP_ID, main, run

__all__ = ["GROUP_ID", "main", "run"]
