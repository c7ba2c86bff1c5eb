"""Data-quality checks on the analytics tables, run by great-expectations on DataFrames.

Pure checks over the rows of a recent window (each returns an ``Outcome``: passed, how many
rows broke it, a sample of them), the reads that fetch those rows from ClickHouse, and the
catalog of which check guards which table (``suite.CHECKS``), from which ``assets/quality.py``
builds the Dagster asset checks.

- ``values``: price > 0, bid ≤ ask, no message id on two rows;
- ``candles``: OHLCV consistency, no gaps in backfilled candles;
- ``venues``: each venue's price against the median across venues, per pair and minute;
- ``sources``: freshness per exchange/protocol, dead-letter (validation failure) rate;
- ``expectations``: the great-expectations runner; ``outcome``: results and sample tables;
- ``config``: ``LUCENT_QUALITY_CONFIG`` (windows, bounds, severities).
"""

from __future__ import annotations

from lucent_platform.quality.config import QualityConfig, quality_config
from lucent_platform.quality.outcome import Outcome

__all__ = ["Outcome", "QualityConfig", "quality_config"]
