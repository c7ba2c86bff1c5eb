"""The processor's settings: one frozen value per stage, each with documented defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lucent_platform.json_config import from_json
from lucent_platform.processing.dedup import DedupConfig
from lucent_platform.processing.enrichment import EnrichmentConfig
from lucent_platform.processing.validation import ValidationConfig


@dataclass(frozen=True)
class ProcessorConfig:
    """Validation thresholds, de-duplication bounds and enrichment spans of one processor."""

    validation: ValidationConfig = field(default_factory=ValidationConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    enrichment: EnrichmentConfig = field(default_factory=EnrichmentConfig)


_SECTIONS: dict[str, type] = {
    "validation": ValidationConfig,
    "dedup": DedupConfig,
    "enrichment": EnrichmentConfig,
}


def processor_config(overrides: Mapping[str, Any]) -> ProcessorConfig:
    """A ``ProcessorConfig`` from ``LUCENT_PROCESSOR_CONFIG``-style JSON, e.g.
    ``{"validation": {"price_bounds": {"BTC-USDT": [1000, 10000000]}, "max_spread_bps": 300},
    "enrichment": {"spans": [20, 100]}}``: each section's fields override its defaults.

    Raises ``ValueError`` naming the section and field for an unknown name or a wrong type.
    """
    unknown = set(overrides) - set(_SECTIONS)
    if unknown:
        raise ValueError(
            f"unknown processor config section(s) {sorted(unknown)}: use {sorted(_SECTIONS)}"
        )
    built: dict[str, Any] = {}
    for name, section in overrides.items():
        kind = _SECTIONS[name]
        if not isinstance(section, Mapping):
            raise ValueError(f"processor config {name!r} must be an object of field values")
        built[name] = from_json(kind, section, f"processor {name!r}")
    return ProcessorConfig(**built)
