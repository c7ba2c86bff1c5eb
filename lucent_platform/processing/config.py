"""The processor's settings: one frozen value per stage, each with documented defaults."""

from __future__ import annotations

from dataclasses import dataclass, field

from lucent_platform.processing.dedup import DedupConfig
from lucent_platform.processing.enrichment import EnrichmentConfig
from lucent_platform.processing.validation import ValidationConfig


@dataclass(frozen=True)
class ProcessorConfig:
    """Validation thresholds, de-duplication bounds and enrichment spans of one processor."""

    validation: ValidationConfig = field(default_factory=ValidationConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    enrichment: EnrichmentConfig = field(default_factory=EnrichmentConfig)
