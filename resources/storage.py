"""``StorageResource`` (key ``"storage"``): where batch assets keep files (datasets, models,
archives) — the platform's data dir unless configured."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from resources.endpoints import platform_settings


class StorageResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The root of ``datasets/``, ``models/`` and ``archive/``."""

    data_dir: str | None = None
    """Unset: LUCENT_DATA_DIR."""

    def root(self) -> Path:
        return Path(self.data_dir) if self.data_dir else platform_settings().data_dir
