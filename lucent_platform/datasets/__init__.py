"""AI training datasets: features and labels per pair and bar, pure except for ``source``,
``day`` and ``store`` (ClickHouse and Parquet through a client and paths handed in).

- ``config``: ``DatasetConfig`` (``LUCENT_DATASET_CONFIG``, Dagster run config);
- ``features``: ``PairFeatures``, the one feature computation, online and offline;
- ``labels``: forward returns; ``split``: time split with an embargo; ``card``: the card;
- ``build``: ticks → labelled rows; ``source``: ticks from ClickHouse, reduced per bar;
- ``day``: one UTC day from ClickHouse; ``store``: Parquet files and ``dataset_features``.
"""
