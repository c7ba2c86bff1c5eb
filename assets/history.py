"""Historical backfills: ``clickhouse/ohlcv_history`` and ``clickhouse/trades_history``.

Partitioned by UTC day × instrument (``binance:BTC-USDT``; the ``instruments`` dynamic
partitions, added by ``instrument_partitions_sensor`` as the streams carry new instruments).
A run fetches one day of one instrument from the exchange's REST API through ccxt (paged by
``since``/``limit``, rate-limited) and replaces that partition's rows, so re-running a
partition is idempotent. ``history_daily_schedule`` launches yesterday for every instrument;
any range is a backfill from the UI.

No ``from __future__ import annotations`` here: Dagster reads the annotations of asset and
schedule functions at definition time.
"""

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from assets.keys import table_key
from lucent_platform.analytics import migrate
from lucent_platform.config import with_overrides
from lucent_platform.connectors.rest import Fetched, HistoryUnavailable, RestHistory
from lucent_platform.history import Gap, day_window, missing_candles, parse_instrument_key
from lucent_platform.history.days import Window, previous_day
from lucent_platform.history.instruments import InstrumentKey
from lucent_platform.history.rows import Rows, candle_rows, trade_rows
from lucent_platform.history.store import (
    OHLCV_TABLE,
    TRADES_TABLE,
    count_partition,
    replace_partition,
)
from resources.clickhouse import ClickHouseResource
from resources.endpoints import platform_settings
from resources.exchanges import ExchangeRestResource

HISTORY_START = "2020-01-01"
"""The first day a backfill can be launched for."""

INTERVAL, INTERVAL_MS = "1m", 60_000
"""The candles' interval (ccxt timeframe), stored in ``ohlcv_history.interval``."""

POOL = "exchange_rest"
"""Dagster concurrency pool of the REST fetches: ``dagster instance concurrency set
exchange_rest 2`` caps how many run at once across a backfill's runs."""

INSTRUMENTS = "instruments"
"""The dynamic partitions of instruments (``binance:BTC-USDT``), added by the sensor."""

instruments_partitions = dg.DynamicPartitionsDefinition(name=INSTRUMENTS)
history_partitions = dg.MultiPartitionsDefinition(
    {
        "date": dg.DailyPartitionsDefinition(start_date=HISTORY_START, timezone="UTC"),
        "instrument": instruments_partitions,
    }
)


@dg.asset(
    key=table_key(OHLCV_TABLE),
    partitions_def=history_partitions,
    group_name="history",
    kinds={"clickhouse", "python"},
    pool=POOL,
    description=(
        f"{INTERVAL} OHLCV candles from the exchange's REST API (ccxt fetch_ohlcv, paged, "
        "rate-limited), one partition per UTC day × instrument; a run replaces its partition."
    ),
)
def ohlcv_history(
    context: dg.AssetExecutionContext,
    clickhouse: ClickHouseResource,
    exchange_rest: ExchangeRestResource,
) -> dg.MaterializeResult:
    instrument, window = _partition(context)
    source = exchange_rest.history(instrument.exchange)
    began = time.monotonic()
    fetched = _fetch(lambda: source.candles(instrument, window, INTERVAL))
    rows = candle_rows(instrument, INTERVAL, fetched.items, window)
    stored = _store(clickhouse, OHLCV_TABLE, instrument, window, rows, interval=INTERVAL)
    seconds = time.monotonic() - began
    gaps = missing_candles((int(c[0]) for c in fetched.items), window, INTERVAL_MS)
    missing = sum(gap.candles for gap in gaps)
    context.log.info(
        "%s %s: %d candles stored, %d missing, %d requests in %.1f s",
        instrument.key, window.start.date(), stored, missing, fetched.requests, seconds,
    )  # fmt: skip
    return dg.MaterializeResult(
        metadata={
            **_common(source, fetched, rows, stored, seconds),
            "missing_candles": missing,
            "gaps": dg.MetadataValue.md(_gaps_table(gaps)),
            "candles_per_second": round(stored / seconds, 1) if seconds > 0 else 0.0,
        }
    )


@dg.asset(
    key=table_key(TRADES_TABLE),
    partitions_def=history_partitions,
    group_name="history",
    kinds={"clickhouse", "python"},
    pool=POOL,
    description=(
        "Public trades from the exchange's REST API (ccxt fetch_trades, paged by time, "
        "rate-limited), one partition per UTC day × instrument; a run replaces its partition. "
        "Venues whose API pages trades by id only (Coinbase) are skipped: no materialization."
    ),
    output_required=False,
)
def trades_history(
    context: dg.AssetExecutionContext,
    clickhouse: ClickHouseResource,
    exchange_rest: ExchangeRestResource,
) -> Iterator[dg.MaterializeResult]:
    instrument, window = _partition(context)
    source = exchange_rest.history(instrument.exchange)
    if not source.limits.trades_by_time:
        # the partition stays unmaterialized, so the UI shows it missing rather than empty
        context.log.warning(
            "%s: its REST API pages trades by trade id only, not by time: no trades history "
            "(candles are fetched)", instrument.exchange,
        )  # fmt: skip
        return
    began = time.monotonic()
    fetched = _fetch(lambda: source.trades(instrument, window))
    rows = trade_rows(instrument, fetched.items, window)
    stored = _store(clickhouse, TRADES_TABLE, instrument, window, rows)
    seconds = time.monotonic() - began
    context.log.info(
        "%s %s: %d trades stored, %d requests in %.1f s",
        instrument.key, window.start.date(), stored, fetched.requests, seconds,
    )  # fmt: skip
    yield dg.MaterializeResult(metadata=_common(source, fetched, rows, stored, seconds))


history_job = dg.define_asset_job(
    "history_backfill",
    selection=[ohlcv_history, trades_history],
    description="Candles and trades of one UTC day × instrument from the exchange's REST API.",
)


@dg.schedule(
    job=history_job,
    cron_schedule="30 0 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day at 00:30 UTC: yesterday's candles and trades for every instrument.",
)
def history_daily_schedule(
    context: dg.ScheduleEvaluationContext,
) -> list[dg.RunRequest] | dg.SkipReason:
    now = context.scheduled_execution_time or datetime.now(UTC)
    day = previous_day(now).isoformat()
    instruments = sorted(context.instance.get_dynamic_partitions(INSTRUMENTS))
    if not instruments:
        return dg.SkipReason(
            "no instruments yet: instrument_partitions_sensor adds them once the streams "
            "carry prices or trades"
        )
    return [
        dg.RunRequest(
            run_key=f"{day}|{instrument}",
            partition_key=dg.MultiPartitionKey({"date": day, "instrument": instrument}),
        )
        for instrument in instruments
    ]


def _partition(context: dg.AssetExecutionContext) -> tuple[InstrumentKey, Window]:
    key = history_partitions.get_partition_key_from_str(str(context.partition_key))
    keys = key.keys_by_dimension
    try:
        return parse_instrument_key(keys["instrument"]), day_window(keys["date"])
    except ValueError as exc:
        raise dg.Failure(description=f"bad partition {context.partition_key!r}: {exc}") from exc


def _fetch(walk: Callable[[], Fetched]) -> Fetched:
    try:
        return walk()
    except HistoryUnavailable as exc:
        raise dg.Failure(description=str(exc)) from exc


def _store(
    resource: ClickHouseResource,
    table: str,
    instrument: InstrumentKey,
    window: Window,
    rows: Rows,
    interval: str | None = None,
) -> int:
    settings = platform_settings()
    database = resource.database or settings.clickhouse_database
    client = resource.client()
    try:
        # idempotent; the tables must exist before the first insert (as the sink does)
        migrate(client, with_overrides(settings, clickhouse_database=database))
        replace_partition(client, database, table, instrument, window, rows.rows, interval=interval)
        return count_partition(client, database, table, instrument, window, interval=interval)
    finally:
        client.close()


def _common(
    source: RestHistory, fetched: Fetched, rows: Rows, stored: int, seconds: float
) -> dict[str, Any]:
    return {
        "rows": stored,
        "fetched": len(fetched.items),
        "outside_day": rows.outside_window,
        "duplicates_dropped": rows.duplicates,
        "incomplete_dropped": rows.incomplete,
        "requests": fetched.requests,
        "rate_limit_ms": source.rate_limit,
        "source": dg.MetadataValue.url(source.url),
        "seconds": round(seconds, 3),
    }


def _gaps_table(gaps: list[Gap]) -> str:
    if not gaps:
        return "no missing candles"
    lines = ["| from (UTC) | to (UTC) | candles |", "|---|---|---|"]
    for gap in gaps[:20]:
        start = datetime.fromtimestamp(gap.start_ms / 1000, UTC).strftime("%H:%M")
        end = datetime.fromtimestamp(gap.end_ms / 1000, UTC).strftime("%H:%M")
        lines.append(f"| {start} | {end} | {gap.candles} |")
    if len(gaps) > 20:
        lines.append(f"| … | {len(gaps) - 20} more | |")
    return "\n".join(lines)
