"""``models/baseline``: the baseline model, trained on a range of the training dataset.

Reads the range's Parquet files (``datasets/features``), fits the regularized logistic
regression of ``lucent_platform.models.baseline`` on the time split's training rows, and
reports validation and test metrics beside the naive forecast's. The model file lands under
``DATA_DIR/models/baseline/``, where ``lucent worker predictions`` loads the newest.

No ``from __future__ import annotations`` here: Dagster reads the annotations of asset
functions at definition time.
"""

from datetime import UTC, date, datetime, timedelta

import dagster as dg
from pydantic import Field

from assets.keys import dataset_key, model_key
from lucent_platform.datasets import store
from lucent_platform.datasets.config import dataset_config
from lucent_platform.models import baseline as model
from resources.endpoints import platform_settings
from resources.storage import StorageResource


class BaselineConfig(dg.Config):
    """Which days of the dataset to learn from, and how."""

    last_day: str = Field(default="", description="YYYY-MM-DD; empty: today (UTC).")
    days: int = Field(default=7, description="Days up to last_day (those built are read).")
    interval: str = Field(default="", description="Bar length; empty: LUCENT_DATASET_CONFIG's.")
    horizon: int = Field(default=0, description="Bars ahead; 0: the dataset's smallest horizon.")
    c: float = Field(default=1.0, description="Inverse L2 regularization strength.")


@dg.asset(
    key=model_key("baseline"),
    deps=[dataset_key("features")],
    group_name="datasets",
    kinds={"scikitlearn", "parquet"},
    description=(
        "Baseline model: regularized logistic regression on the direction of the forward "
        "return, trained on a range of datasets/features with a time split (embargoed); "
        "out-of-sample accuracy, AUC and log-loss against the naive forecast in metadata. "
        "`lucent worker predictions` publishes its predictions on agents.predictions.*. "
        "Needs a dataset span well beyond the largest horizon / 0.7 (about 21 min of 1m "
        "bars by default); on a fresh stack, build datasets/features with interval 10s and "
        "train with interval 10s (Materialize ▾ → Open launchpad)."
    ),
)
def baseline(
    context: dg.AssetExecutionContext, config: BaselineConfig, storage: StorageResource
) -> dg.MaterializeResult:
    settings = platform_settings()
    interval = config.interval or dataset_config(settings.dataset_config).interval
    last = date.fromisoformat(config.last_day) if config.last_day else datetime.now(UTC).date()
    days = [last - timedelta(days=i) for i in reversed(range(config.days))]
    frame, dataset = store.read_days(storage.root(), interval, days)
    horizon = config.horizon or min(dataset.horizons)
    trained = model.train(frame, dataset, horizon, c=config.c, name="baseline")
    path = model.save(trained, storage.root())
    context.log.info("trained on %d rows, saved %s", trained.split["train"], path)
    metrics = {
        part: evaluation.as_dict()
        for part, evaluation in (("validation", trained.validation), ("test", trained.test))
        if evaluation is not None
    }
    test = trained.test
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "horizon (bars)": horizon,
            "interval": dataset.interval,
            "pairs": ", ".join(dataset.pairs),
            "rows": len(frame),
            "split": dg.MetadataValue.json(trained.split),
            "features": ", ".join(trained.features),
            "metrics": dg.MetadataValue.json(metrics),
            "test accuracy": test.accuracy if test else float("nan"),
            "test naive accuracy": test.naive_accuracy if test else float("nan"),
            "test auc": test.auc if test else float("nan"),
            "test log loss": test.log_loss if test else float("nan"),
            "test naive log loss": test.naive_log_loss if test else float("nan"),
        }
    )
