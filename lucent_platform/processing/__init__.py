"""The stream processor's pure stages: validation, de-duplication, normalization, enrichment.

The design record's processing topology steps 2-5, as plain code over typed values (no Kafka,
no I/O): the streaming runtime consumes raw topics, hands each batch to
``MarketProcessor.process`` and produces what it returns: normalized envelopes for
``market.{kind}.all`` and dead letters for ``market.deadletter``, with exact counts.

    processor = MarketProcessor(ProcessorConfig(), clock_ms=lambda: time.time_ns() // 1_000_000)
    processor.assigned([("market.prices.binance.btc-usdt", 0)])
    result = processor.process(records)          # records: Sequence[InRecord]
    for out in result.outputs:
        produce(out.topic, out.key, out.value, out.headers)

Modules: ``pipeline`` (the processor and its record types), ``validation`` and ``outliers``
(checks), ``dedup``, ``normalize``, ``enrichment`` with ``rolling`` and ``books`` (derived
figures), ``stages`` (the per-kind steps), ``deadletter`` (the dead-letter format and reasons).
"""

from __future__ import annotations

from lucent_platform.processing.config import ProcessorConfig
from lucent_platform.processing.deadletter import DeadLetter, Reason
from lucent_platform.processing.dedup import DedupConfig
from lucent_platform.processing.enrichment import EnrichmentConfig
from lucent_platform.processing.pipeline import InRecord, MarketProcessor, Output, Result
from lucent_platform.processing.validation import ValidationConfig

__all__ = [
    "DeadLetter",
    "DedupConfig",
    "EnrichmentConfig",
    "InRecord",
    "MarketProcessor",
    "Output",
    "ProcessorConfig",
    "Reason",
    "Result",
    "ValidationConfig",
]
