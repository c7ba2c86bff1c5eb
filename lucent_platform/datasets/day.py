"""Building one UTC day of a dataset from ClickHouse: read, compute, label (no writing).

For each pair: the inputs from ``day start - warmup_bars`` (full windows from the first row)
to ``day end + largest horizon`` (labels for the last rows, once that data exists), reduced
per bar by ``source``, then ``build.build_rows``. Rows are the bars ending in the day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pandas as pd

from lucent_platform.datasets import source
from lucent_platform.datasets.build import build_rows, by_time, columns
from lucent_platform.datasets.config import DatasetConfig
from lucent_platform.timeframes import DAY_MS

if TYPE_CHECKING:
    from lucent_platform.adapters.clickhouse import Client


def day_range_ms(day: date) -> tuple[int, int]:
    """``[start, end)`` of a UTC day in epoch ms."""
    start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
    return start, start + DAY_MS


def build_day(client: Client, database: str, config: DatasetConfig, day: date) -> pd.DataFrame:
    """Every pair's rows of ``day`` (``config.pairs`` must be set), by time then pair."""
    start, end = day_range_ms(day)
    bar = config.interval_ms
    read_from, read_to = start - config.warmup_bars * bar, end + config.embargo_ms
    frames = []
    for pair in config.pairs:
        base, _, quote = pair.partition("-")
        ticks = by_time(
            source.quotes(client, database, pair, read_from, read_to, bar),
            source.trades(client, database, pair, read_from, read_to, bar),
            source.yields(client, database, (base, quote), read_from, read_to, bar),
        )
        frames.append(
            build_rows(config, pair, ticks, start_ms=start, end_ms=end, label_end_ms=read_to)
        )
    if not frames:
        return build_rows(config, "", [], start_ms=start, end_ms=end, label_end_ms=end)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return frame.sort_values(["time", "pair"], kind="stable").reset_index(drop=True)[
        columns(config)
    ]
