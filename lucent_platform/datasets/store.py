"""Where datasets live: one Parquet file per interval and UTC day under the data dir, and the
``dataset_features`` table (migration 0009). Both are rewritten whole for a day, so building a
day twice leaves the same data.

    DATA_DIR/datasets/features/interval=1m/date=2026-11-28.parquet
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from lucent_platform.analytics.migrate import quote_name
from lucent_platform.analytics.queries.registry import bind_time
from lucent_platform.datasets.config import DatasetConfig
from lucent_platform.datasets.features import feature_names
from lucent_platform.datasets.labels import label_names

if TYPE_CHECKING:
    from lucent_platform.adapters.clickhouse import Client

TABLE = "dataset_features"


def parquet_path(data_dir: Path, interval: str, day: date) -> Path:
    return data_dir / "datasets" / "features" / f"interval={interval}" / f"date={day}.parquet"


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".parquet.partial")
    frame.to_parquet(partial, index=False)
    os.replace(partial, path)


def read_days(data_dir: Path, interval: str, days: Iterable[date]) -> pd.DataFrame:
    """The stored rows of ``days`` (those built so far), in time order."""
    paths = [p for day in days if (p := parquet_path(data_dir, interval, day)).exists()]
    if not paths:
        raise FileNotFoundError(
            f"no {interval} dataset built for {', '.join(map(str, days))} under {data_dir}"
        )
    frame = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    return frame.sort_values(["time", "pair"], kind="stable").reset_index(drop=True)


def write_clickhouse(
    client: Client,
    database: str,
    frame: pd.DataFrame,
    config: DatasetConfig,
    start_ms: int,
    end_ms: int,
) -> None:
    """Replace the rows of ``config.pairs`` and ``config.interval`` in ``[start, end)`` with
    ``frame``'s."""
    table = f"{quote_name(database)}.{TABLE}"
    client.command(
        f"DELETE FROM {table} WHERE interval = {{interval:String}} "
        "AND pair IN {pairs:Array(String)} "
        "AND time >= {start:DateTime64(3, 'UTC')} AND time < {end:DateTime64(3, 'UTC')}",
        parameters={
            "interval": config.interval,
            "pairs": list(config.pairs),
            "start": bind_time(start_ms),
            "end": bind_time(end_ms),
        },
    )
    if frame.empty:
        return
    features, labels = feature_names(config), label_names(config.horizons)
    rows = [
        [
            config.interval,
            record["pair"],
            pd.Timestamp(record["time"], unit="ms", tz="UTC").to_pydatetime(),
            record["close"],
            {name: record[name] for name in features},
            {name: record[name] for name in labels},
        ]
        for record in frame.to_dict("records")
    ]
    client.insert(
        TABLE,
        rows,
        column_names=["interval", "pair", "time", "close", "features", "labels"],
        database=database,
    )
