"""The ClickHouse analytics store: schema, migrations, row mapping, candles, Kafka-engine DDL.

Pure code and DDL; it talks to ClickHouse only through a clickhouse-connect ``Client`` handed
in (``lucent_platform.adapters.clickhouse.connect``), so the same code runs against the
embedded server and a real one.

- ``migrate(client, settings)``: versioned, idempotent migrations (``migrations/*.sql``),
  TTLs and the ingest mode from settings (``lucent clickhouse migrate``);
- ``rows``: ``TABLE_FOR_TOPIC``, ``to_row(envelope)``, ``dead_letter_row(letter)``,
  ``COLUMNS`` (the sink's mapping); ``insert.insert_rows`` with a de-duplication token;
- ``candles``: the finalizing OHLCV SELECTs (``ohlcv_sql(interval)``, ``TOP_VOLUME_TODAY``);
- ``kafka_engine``: the ``ENGINE = Kafka`` tables and views for a real server.
"""

from __future__ import annotations

from lucent_platform.analytics.migrate import Applied, MigrationError, migrate

__all__ = ["Applied", "MigrationError", "migrate"]
