"""The baseline model: will the close be higher ``horizon`` bars ahead?

A regularized (L2, ``C``) logistic regression on the dataset's features (median-imputed,
standardized), trained on the time split's training rows and evaluated out of sample on its
validation and test rows, against the naive forecast that always says the training set's
share of up moves. A model that cannot beat that has learnt nothing, and the metadata says so.

Saved with joblib (a pickle: load only models this platform wrote) as
``DATA_DIR/models/NAME/model-YYYYmmddTHHMMSSffffffZ.joblib``; the newest file is the one in use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from lucent_platform.datasets.config import DatasetConfig, dataset_config
from lucent_platform.datasets.features import FeatureRow, feature_names
from lucent_platform.datasets.split import TEST, TRAIN, VALIDATION, sizes, time_split


@dataclass(frozen=True)
class Evaluation:
    """Out-of-sample figures of the model and of the naive forecast on the same rows."""

    rows: int
    up_share: float
    accuracy: float
    auc: float
    log_loss: float
    naive_accuracy: float
    naive_log_loss: float

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 6) if isinstance(v, float) else v for k, v in self.__dict__.items()}


@dataclass
class TrainedModel:
    """A fitted pipeline and everything needed to use it online exactly as it was trained."""

    name: str
    horizon: int
    dataset: dict[str, Any]  # DatasetConfig.as_json(): the worker rebuilds the features from it
    features: list[str]
    pipeline: Pipeline
    trained_at: str
    first: int  # time of the first and last dataset row used (UTC ms)
    last: int
    split: dict[str, int]
    validation: Evaluation | None
    test: Evaluation | None
    version: str = field(default="")  # the file name it was loaded from

    @property
    def config(self) -> DatasetConfig:
        return dataset_config(self.dataset)

    def probability_up(self, rows: list[FeatureRow]) -> list[float]:
        """P(close higher ``horizon`` bars ahead) for each feature row."""
        if not rows:
            return []
        matrix = np.array([[float(row[name]) for name in self.features] for row in rows])
        return [float(p) for p in self.pipeline.predict_proba(matrix)[:, 1]]


def train(
    frame: pd.DataFrame, config: DatasetConfig, horizon: int, *, c: float = 1.0, name: str
) -> TrainedModel:
    """Fit on the time split's training rows of ``frame`` (a dataset, columns as
    ``datasets.build.columns(config)``) whose ``up_{horizon}`` label is known; evaluate on the
    validation and test rows. ``ValueError`` when there are no training rows (the message says
    how long a range is needed) or they hold a single class."""
    if horizon not in config.horizons:
        raise ValueError(f"horizon {horizon} is not one of the dataset's {config.horizons}")
    frame = frame.sort_values("time", kind="stable").reset_index(drop=True)
    parts = pd.Series(
        time_split(
            frame["time"].tolist(),
            validation_fraction=config.validation_fraction,
            test_fraction=config.test_fraction,
            embargo_ms=config.embargo_ms,
            bar_ms=config.interval_ms,
        ),
        index=frame.index,
    )
    label = f"up_{horizon}"
    names = feature_names(config)
    known = frame[label].notna()
    train_rows = frame[known & (parts == TRAIN)]
    y = train_rows[label].astype(int)
    if y.empty:
        raise ValueError(_too_short(frame, sizes(parts.tolist()), config))
    if y.nunique() < 2:
        raise ValueError(
            f"the {len(y)} training rows labelled {label} are all "
            f"{'up' if y.iloc[0] else 'down'} moves: train on a longer range"
        )
    # a feature never known in training (say, no yields recorded) would stop the imputer
    usable = [n for n in names if train_rows[n].notna().any()]
    pipeline = make_pipeline(
        SimpleImputer(strategy="median"),
        StandardScaler(),
        LogisticRegression(C=c, max_iter=1000),
    )
    pipeline.fit(train_rows[usable].to_numpy(dtype=float), y.to_numpy())
    prior = float(y.mean())

    def evaluate(part: str) -> Evaluation | None:
        rows = frame[known & (parts == part)]
        if rows.empty:
            return None
        truth = rows[label].astype(int).to_numpy()
        p = pipeline.predict_proba(rows[usable].to_numpy(dtype=float))[:, 1]
        naive = np.full(len(truth), prior)
        both = len(set(truth)) == 2
        return Evaluation(
            rows=len(truth),
            up_share=float(truth.mean()),
            accuracy=float(accuracy_score(truth, p >= 0.5)),
            auc=float(roc_auc_score(truth, p)) if both else math.nan,
            log_loss=float(log_loss(truth, p, labels=[0, 1])),
            naive_accuracy=float(accuracy_score(truth, naive >= 0.5)),
            naive_log_loss=float(log_loss(truth, naive, labels=[0, 1])),
        )

    return TrainedModel(
        name=name,
        horizon=horizon,
        dataset=config.as_json(),
        features=usable,
        pipeline=pipeline,
        trained_at=datetime.now(UTC).isoformat(),
        first=int(frame["time"].min()),
        last=int(frame["time"].max()),
        split=sizes(parts.tolist()),
        validation=evaluate(VALIDATION),
        test=evaluate(TEST),
    )


def _too_short(frame: pd.DataFrame, split: dict[str, int], config: DatasetConfig) -> str:
    """Why a range gave no training row, and what to build instead.

    The embargo before each boundary is the largest horizon, so the training part holds rows
    only once the span exceeds embargo / training share: 15 one-minute bars / 0.7 ≈ 21 min
    with the defaults, which a few minutes of a fresh ``lucent up`` do not reach.
    """
    span_ms = int(frame["time"].max() - frame["time"].min()) + config.interval_ms
    share = 1 - config.validation_fraction - config.test_fraction
    parts = ", ".join(f"{part} {count}" for part, count in split.items())
    return (
        f"no training rows: the {len(frame)} rows span {_duration(span_ms)} ({parts}); an "
        f"embargo of the largest horizon ({config.max_horizon} bars of {config.interval} = "
        f"{_duration(config.embargo_ms)}) precedes each split boundary, so training needs a "
        f"span well beyond {_duration(config.embargo_ms / share)}. Build datasets/features "
        "over a longer range (more days, or after the platform has run longer), or with a "
        "shorter interval or horizons (its run config) and train with that interval."
    )


def _duration(ms: float) -> str:
    seconds = ms / 1000
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def model_dir(data_dir: Path, name: str) -> Path:
    return data_dir / "models" / name


def save(model: TrainedModel, data_dir: Path) -> Path:
    """Write ``model`` as a new file of its name; the path."""
    directory = model_dir(data_dir, model.name)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = directory / f"model-{stamp}.joblib"
    partial = path.with_suffix(".partial")
    joblib.dump(model, partial)
    partial.replace(path)
    return path


def latest_path(data_dir: Path, name: str) -> Path | None:
    """The newest saved file of model ``name`` (None: never trained)."""
    files = sorted(model_dir(data_dir, name).glob("model-*.joblib"))
    return files[-1] if files else None


def load_latest(data_dir: Path, name: str) -> TrainedModel:
    """The newest model ``name``; ``FileNotFoundError`` naming where it looked."""
    path = latest_path(data_dir, name)
    if path is None:
        raise FileNotFoundError(
            f"no model {name!r} under {model_dir(data_dir, name)}: materialize models/{name} "
            "in Dagster first"
        )
    model: TrainedModel = joblib.load(path)
    model.version = path.name
    return model
