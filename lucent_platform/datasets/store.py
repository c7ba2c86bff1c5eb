"""Where datasets live: one Parquet file per interval and UTC day under the data dir, and the
``dataset_features`` table (migration 0009). Both are rewritten whole for a day, so building a
day twice leaves the same data.

    DATA_DIR/datasets/features/interval=1m/date=2026-11-28.parquet
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lucent_platform.analytics.migrate import quote_name
from lucent_platform.analytics.queries.registry import bind_time
from lucent_platform.datasets.config import DatasetConfig, dataset_config
from lucent_platform.datasets.features import feature_names
from lucent_platform.datasets.labels import label_names

if TYPE_CHECKING:
    from lucent_platform.adapters.clickhouse import Client

TABLE = "dataset_features"
CONFIG_KEY = "lucent.dataset"


def parquet_path(data_dir: Path, interval: str, day: date) -> Path:
    return data_dir / "datasets" / "features" / f"interval={interval}" / f"date={day}.parquet"


def write_parquet(frame: pd.DataFrame, path: Path, config: DatasetConfig) -> None:
    """Write ``frame`` to ``path`` atomically (a reader never sees half a file), with the
    dataset config in the file's metadata (a model trained on it rebuilds its features)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = {**(table.schema.metadata or {}), CONFIG_KEY: json.dumps(config.as_json())}
    partial = path.with_suffix(".parquet.partial")
    pq.write_table(table.replace_schema_metadata(metadata), partial)
    os.replace(partial, path)


def read_days(
    data_dir: Path, interval: str, days: Iterable[date]
) -> tuple[pd.DataFrame, DatasetConfig]:
    """The stored rows of ``days`` (those built so far) in time order, and their dataset
    config (pairs: all of theirs). ``ValueError`` if the days were built with different
    features or horizons: rebuild them with one config."""
    paths = [p for day in days if (p := parquet_path(data_dir, interval, day)).exists()]
    if not paths:
        raise FileNotFoundError(
            f"no {interval} dataset built for those days under {data_dir}: materialize "
            f"datasets/features for them first (run config interval: {interval})"
        )
    tables = [pq.read_table(p) for p in paths]
    configs = {json.dumps({**_config(t), "pairs": []}, sort_keys=True) for t in tables}
    if len(configs) > 1:
        raise ValueError(f"the days {[p.name for p in paths]} were built with different configs")
    pairs = sorted({pair for t in tables for pair in _config(t)["pairs"]})
    config = dataset_config({**_config(tables[0]), "pairs": pairs})
    frame = pd.concat([t.to_pandas() for t in tables], ignore_index=True)
    return frame.sort_values(["time", "pair"], kind="stable").reset_index(drop=True), config


def _config(table: pa.Table) -> dict[str, Any]:
    raw = (table.schema.metadata or {}).get(CONFIG_KEY.encode())
    if raw is None:
        raise ValueError("a dataset file without its config: rebuild it")
    loaded: dict[str, Any] = json.loads(raw)
    return loaded


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
