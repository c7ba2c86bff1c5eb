"""``datasets/features``: AI training datasets, one UTC day per partition.

Feature rows per pair and bar built from the ClickHouse tables with the functions the
predictions worker uses online (``lucent_platform.datasets``), labelled with forward returns,
written as Parquet under the data dir and into ``dataset_features``; the dataset card is in
the materialization's metadata. A backfill over a range runs once for the whole range
(``BackfillPolicy.single_run``), so its card describes the range and its train / validation
/ test split.

No ``from __future__ import annotations`` here: Dagster reads the annotations of asset
functions at definition time.
"""

import time
from datetime import date, timedelta

import dagster as dg
import pandas as pd
from pydantic import Field

from assets.keys import dataset_key, table_key
from lucent_platform.datasets import store
from lucent_platform.datasets.card import dataset_card
from lucent_platform.datasets.config import DatasetConfig, dataset_config
from lucent_platform.datasets.day import build_day, day_range_ms
from resources.clickhouse import ClickHouseResource
from resources.endpoints import platform_settings
from resources.storage import StorageResource

DAILY = dg.DailyPartitionsDefinition(start_date="2025-01-01", end_offset=1)
"""Days from 2025 up to today (today's partition holds the day so far: a demo's data)."""


class DatasetRunConfig(dg.Config):
    """What to build; anything left empty comes from LUCENT_DATASET_CONFIG."""

    pairs: list[str] = Field(default=[], description="Pairs (BASE-QUOTE); empty: the default.")
    interval: str = Field(default="", description="Bar length: 30s, 1m, 5m, 1h …")
    horizons: list[int] = Field(default=[], description="Label horizons in bars, e.g. 1, 5, 15.")

    def resolve(self) -> DatasetConfig:
        settings = platform_settings()
        wanted = dict(settings.dataset_config)
        for name, value in (
            ("pairs", self.pairs),
            ("interval", self.interval),
            ("horizons", self.horizons),
        ):
            if value:
                wanted[name] = value
        return dataset_config(wanted).with_pairs(settings.pairs)


@dg.asset(
    key=dataset_key("features"),
    deps=[table_key("prices"), table_key("trades"), table_key("yields")],
    partitions_def=DAILY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="datasets",
    kinds={"parquet", "clickhouse", "pandas"},
    description=(
        "Training dataset: per pair and bar, returns, moving-average gaps, volatility, "
        "cross-venue spread, quoted spread, book and trade imbalances, volume profile and "
        "yields (the predictions worker's own feature code), labelled with forward returns. "
        "Point in time: a row at t uses only data before t. Parquet under "
        "DATA_DIR/datasets/features/ and the ClickHouse table dataset_features."
    ),
)
def features(
    context: dg.AssetExecutionContext,
    config: DatasetRunConfig,
    clickhouse: ClickHouseResource,
    storage: StorageResource,
) -> dg.MaterializeResult:
    dataset = config.resolve()
    window = context.partition_time_window
    days = _days(window.start.date(), window.end.date())
    database = clickhouse.database or platform_settings().clickhouse_database
    root = storage.root()
    client = clickhouse.client()
    started = time.perf_counter()
    frames, paths = [], []
    try:
        for day in days:
            frame = build_day(client, database, dataset, day)
            path = store.parquet_path(root, dataset.interval, day)
            store.write_parquet(frame, path, dataset)
            store.write_clickhouse(client, database, frame, dataset, *day_range_ms(day))
            context.log.info("%s: %d rows → %s", day, len(frame), path)
            frames.append(frame)
            paths.append(str(path))
    finally:
        client.close()
    seconds = time.perf_counter() - started
    frame = pd.concat(frames, ignore_index=True)
    card = dataset_card(frame, dataset)
    balance = {f"up share h={s.horizon}": round(s.up_share, 4) for s in card.labels if s.known}
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": card.rows,
            "rows": card.rows,
            "pairs": ", ".join(card.pairs),
            "interval": dataset.interval,
            "horizons": ", ".join(map(str, dataset.horizons)),
            "span": f"{card.first} → {card.last}",
            "features": ", ".join(card.features),
            "label balance": dg.MetadataValue.json(balance),
            "split": dg.MetadataValue.json(card.split),
            "card": dg.MetadataValue.md(card.markdown()),
            "parquet": dg.MetadataValue.path(paths[0] if len(paths) == 1 else str(root)),
            "files": "\n".join(paths),
            "clickhouse table": f"{database}.{store.TABLE}",
            "config": dg.MetadataValue.json(dataset.as_json()),
            "build seconds": round(seconds, 3),
        }
    )


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]
