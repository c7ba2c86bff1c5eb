"""How a topic on the broker differs from the catalog: pure comparison, no broker needed.

    drift(spec, wanted_config, partitions=3, config={"retention.ms": "86400000"})
    # TopicDrift(topic=…, partitions=3, wanted_partitions=6,
    #            configs={"retention.ms": ("86400000", "604800000"), "cleanup.policy": (None, …)})

Config differences are repaired (the provisioning asset alters them); fewer partitions than
the catalog are only reported: adding partitions moves keys to other partitions and so breaks
per-pair order for the records in flight, a decision for an operator, not for a re-run.
More partitions than the catalog is not drift (a cluster may scale a topic out).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TopicDrift:
    topic: str
    partitions: int
    wanted_partitions: int
    configs: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    """Config name → (value on the broker, or None when unset there; value in the catalog)."""

    @property
    def missing_partitions(self) -> int:
        return max(self.wanted_partitions - self.partitions, 0)

    @property
    def drifted(self) -> bool:
        return bool(self.configs) or self.missing_partitions > 0

    def describe(self) -> str:
        """One line for the asset's metadata: ``topic: 3/6 partitions; retention.ms 1 → 2``."""
        parts = []
        if self.missing_partitions:
            parts.append(f"{self.partitions}/{self.wanted_partitions} partitions")
        parts += [
            f"{name} {'unset' if now is None else now} → {wanted}"
            for name, (now, wanted) in sorted(self.configs.items())
        ]
        return f"{self.topic}: " + "; ".join(parts)


def drift(
    topic: str,
    wanted_partitions: int,
    wanted_config: Mapping[str, str],
    *,
    partitions: int,
    config: Mapping[str, str | None],
) -> TopicDrift:
    """Compare a topic as it is (``partitions``, ``config`` as described by the broker) with
    the catalog's ``wanted_partitions`` and ``wanted_config``."""
    changes = {
        name: (config.get(name), value)
        for name, value in wanted_config.items()
        if config.get(name) != value
    }
    return TopicDrift(topic, partitions, wanted_partitions, changes)
