"""The data-quality asset checks executed in-process against the embedded ClickHouse: clean
rows pass, seeded bad rows fail with their exact count, a sample and the severity."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import dagster as dg
import pytest

from assets.keys import table_key
from assets.quality import quality_checks
from lucent_platform.analytics import migrate
from lucent_platform.analytics.insert import insert_rows
from lucent_platform.analytics.rows import dead_letter_row
from lucent_platform.config import Settings, with_overrides
from lucent_platform.envelope import Envelope, new_envelope
from lucent_platform.messages import OrderBookSnapshot, PriceUpdate, Trade
from lucent_platform.processing.deadletter import DeadLetter
from resources import ClickHouseResource
from tests.fixtures.clickhouse import EmbeddedClickHouse
from tests.query_data import store

if TYPE_CHECKING:
    from clickhouse_connect.driver import Client

NOW_MS = int(time.time() * 1000)
"""The test's clock: rows are placed relative to it (reset at every test's start)."""
MINUTE = 60_000
VENUES = ("binance", "coinbase", "kraken")


@pytest.fixture(autouse=True)
def _clock() -> None:
    global NOW_MS
    NOW_MS = int(time.time() * 1000)


@pytest.fixture
def db(clickhouse: Client, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    """This test's own migrated database; the checks read settings at run time, so the
    environment (not a developer's .env) says which exchanges must be fresh."""
    migrate(clickhouse, with_overrides(settings, clickhouse_database=clickhouse.database))
    monkeypatch.setenv("LUCENT_EXCHANGES", ",".join(VENUES))
    monkeypatch.delenv("LUCENT_QUALITY_CONFIG", raising=False)
    yield clickhouse


def price(exchange: str, value: float, ago_ms: int, *, bid: float | None = None,
          ask: float | None = None, pair: str = "BTC-USDT", message_id: str | None = None,
          ) -> Envelope[Any]:  # fmt: skip
    at = NOW_MS - ago_ms
    data = PriceUpdate(exchange, pair, value, bid=bid, ask=ask)
    return new_envelope(data, source=f"{exchange}-test", event_time_ms=at,
                        received_time_ms=at + 5, message_id=message_id)  # fmt: skip


def trade(exchange: str, value: float, ago_ms: int, n: int) -> Envelope[Any]:
    at = NOW_MS - ago_ms
    data = Trade(exchange, "BTC-USDT", value, 0.5, str(1000 + n))
    return new_envelope(data, source=f"{exchange}-test", event_time_ms=at,
                        received_time_ms=at + 5)  # fmt: skip


def quotes(minutes: int = 5) -> list[Envelope[Any]]:
    """Every venue quoting BTC-USDT every 20 s for ``minutes``, a few dollars apart."""
    out = []
    for i, exchange in enumerate(VENUES):
        for k in range(minutes * 3):
            mid = 60_000.0 + 5 * i + k
            out.append(price(exchange, mid, k * 20_000 + 1_000, bid=mid - 1, ask=mid + 1))
    return out


def run(server: EmbeddedClickHouse, db: Client, *wanted: tuple[str, str],
        partition_key: str | None = None, assets: list[Any] | None = None,
        ) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:  # fmt: skip
    """Execute the asset checks named (table, check) in-process on ``db``; their evaluations."""
    checks = [c for c in quality_checks
              if (next(iter(c.check_keys)).asset_key.path[-1], next(iter(c.check_keys)).name)
              in wanted]  # fmt: skip
    assert len(checks) == len(wanted)
    resource = ClickHouseResource(url=server.url, database=db.database)
    result = dg.materialize(
        [*(assets or []), *checks],
        resources={"clickhouse": resource},
        selection=None if assets else dg.AssetSelection.checks(*checks),
        partition_key=partition_key,
    )
    assert result.success
    return {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}


def count(evaluation: dg.AssetCheckEvaluation) -> int:
    return int(evaluation.metadata["count"].value)  # type: ignore[arg-type]


def sample(evaluation: dg.AssetCheckEvaluation) -> str:
    return str(evaluation.metadata["sample"].value)


ROW_CHECKS = (
    ("prices", "price_positive"), ("trades", "price_positive"),
    ("prices", "bid_not_above_ask"), ("orderbook_top", "bid_not_above_ask"),
    ("prices", "unique_message_ids"), ("trades", "unique_message_ids"),
)  # fmt: skip


def test_row_checks_pass_on_clean_rows_and_count_seeded_bad_ones(
    clickhouse_server: EmbeddedClickHouse, db: Client
) -> None:
    good = quotes() + [trade(v, 60_000.0 + i, i * 1000, i) for i, v in enumerate(VENUES)]
    book = OrderBookSnapshot("binance", "BTC-USDT", [(59_999.0, 1.0)], [(60_001.0, 1.0)])
    good.append(new_envelope(book, source="binance-test", event_time_ms=NOW_MS - 2000,
                             received_time_ms=NOW_MS - 1990))  # fmt: skip
    store(db, good)
    store(db, good[:3])  # the sink wrote a batch twice: copies of one message are no duplicate
    clean = run(clickhouse_server, db, *ROW_CHECKS)
    assert all(e.passed for e in clean.values()), {k: e.description for k, e in clean.items()}
    assert count(clean[("prices", "price_positive")]) == 0
    assert int(clean[("prices", "price_positive")].metadata["checked"].value) == len(quotes())

    crossed = OrderBookSnapshot("kraken", "BTC-USDT", [(60_010.0, 1.0)], [(60_005.0, 2.0)])
    store(db, [
        price("binance", -1.0, 30_000, message_id="bad-price"),
        price("kraken", 0.0, 40_000, message_id="zero-price"),
        price("kraken", -5.0, 2 * 3_600_000, message_id="old-bad-price"),  # outside the window
        price("coinbase", 60_000.0, 50_000, bid=60_002.0, ask=60_001.0, message_id="crossed"),
        price("binance", 60_000.0, 70_000, bid=1.0, ask=2.0, message_id=good[0].header.message_id),
        trade("kraken", 0.0, 10_000, 99),
        new_envelope(crossed, source="kraken-test", event_time_ms=NOW_MS - 3000,
                     received_time_ms=NOW_MS - 2990),
    ])  # fmt: skip
    found = run(clickhouse_server, db, *ROW_CHECKS)
    assert {k: count(e) for k, e in found.items()} == {
        ("prices", "price_positive"): 2,
        ("trades", "price_positive"): 1,
        ("prices", "bid_not_above_ask"): 1,
        ("orderbook_top", "bid_not_above_ask"): 1,
        ("prices", "unique_message_ids"): 2,  # one id on two different messages: both rows
        ("trades", "unique_message_ids"): 0,
    }
    positive = found[("prices", "price_positive")]
    assert not positive.passed and positive.severity == dg.AssetCheckSeverity.ERROR
    assert "bad-price" in sample(positive) and "zero-price" in sample(positive)
    assert "old-bad-price" not in sample(positive)
    assert sample(positive).startswith("| message_id | event_time | exchange | pair | price |")
    assert "crossed" in sample(found[("prices", "bid_not_above_ask")])
    assert "| 60010 | 60005 |" in sample(found[("orderbook_top", "bid_not_above_ask")])
    assert sample(found[("prices", "unique_message_ids")]).count(good[0].header.message_id) == 2
    assert found[("trades", "unique_message_ids")].passed


def test_candle_checks_on_trade_and_quote_candles(
    clickhouse_server: EmbeddedClickHouse, db: Client
) -> None:
    trades = [trade(v, 60_000.0 + 10 * k + i, k * 15_000 + 500, k)
              for i, v in enumerate(VENUES) for k in range(12)]  # fmt: skip
    store(db, trades + quotes())
    wanted = [("market_data", "ohlcv_consistent"), ("market_data_1h", "ohlcv_consistent"),
              ("market_data_1d", "ohlcv_consistent"), ("quote_candles", "ohlcv_consistent"),
              ("quote_candles", "venues_agree")]  # fmt: skip
    clean = run(clickhouse_server, db, *wanted)
    assert all(e.passed for e in clean.values()), {k: e.description for k, e in clean.items()}
    assert int(clean[("market_data", "ohlcv_consistent")].metadata["checked"].value) >= 9

    # A candle whose high is under its open and whose volume is negative (trades cannot make
    # one: it is written straight into market_data, and its rollups inherit it), and kraken's
    # closing mid 3 % above the others in one minute (3 minutes ago, quoted by every venue).
    db.command(f"""INSERT INTO {db.database}.market_data SELECT
        toStartOfMinute(now('UTC')), 'binance', 'ETH-USDT',
        argMinState(toFloat64(3000), (now64(3, 'UTC'), toUInt64(0))), toFloat64(2990),
        toFloat64(2980), argMaxState(toFloat64(2985), (now64(3, 'UTC'), toUInt64(0))),
        toFloat64(-1), toFloat64(0), toUInt64(1), avgState(toFloat64(3000))""")
    minute_end = (NOW_MS - 3 * MINUTE) // MINUTE * MINUTE + MINUTE
    store(db, [price("kraken", 61_800.0, NOW_MS - minute_end + k, bid=61_799.0, ask=61_801.0)
               for k in (1, 2, 3)])  # fmt: skip
    found = run(clickhouse_server, db, *wanted)
    candles = found[("market_data", "ohlcv_consistent")]
    assert (candles.passed, count(candles)) == (False, 1)
    assert candles.metadata["open ≤ high"].value == 1 and candles.metadata["volume ≥ 0"].value == 1
    assert "ETH-USDT" in sample(candles) and candles.severity == dg.AssetCheckSeverity.ERROR
    for rollup in ("market_data_1h", "market_data_1d"):
        assert count(found[(rollup, "ohlcv_consistent")]) == 1
    venues = found[("quote_candles", "venues_agree")]
    assert (venues.passed, count(venues), venues.severity) == (False, 1, dg.AssetCheckSeverity.WARN)
    assert "kraken" in sample(venues).splitlines()[2]
    assert found[("quote_candles", "ohlcv_consistent")].passed


def history_rows(day: date, exchange: str, minutes: list[int]) -> list[tuple[Any, ...]]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    rows = []
    for m in minutes:
        high = 101.0 if m != 7 else 99.0  # minute 7 closes above its high
        rows.append((exchange, "BTC-USDT", "1m", start + timedelta(minutes=m),
                     100.0, high, 99.5, 100.5, 2.0))  # fmt: skip
    return rows


HISTORY_COLUMNS = ["exchange", "pair", "interval", "open_time", "open", "high", "low", "close",
                   "volume"]  # fmt: skip


def test_history_checks_hourly_and_in_a_backfill_partition(
    clickhouse_server: EmbeddedClickHouse, db: Client
) -> None:
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    minutes = [0, 1, 2, 3, 4, 6, 7, 8, 9]  # minute 5 missing
    db.insert("ohlcv_history", history_rows(yesterday, "binance", minutes),
              column_names=HISTORY_COLUMNS)  # fmt: skip
    wanted = [("ohlcv_history", "ohlcv_consistent"), ("ohlcv_history", "no_candle_gaps")]

    hourly = run(clickhouse_server, db, *wanted)
    gaps = hourly[("ohlcv_history", "no_candle_gaps")]
    assert (gaps.passed, count(gaps), gaps.severity) == (False, 1, dg.AssetCheckSeverity.WARN)
    assert gaps.metadata["missing_candles"].value == 1
    consistent = hourly[("ohlcv_history", "ohlcv_consistent")]
    assert (consistent.passed, count(consistent)) == (False, 1)
    assert consistent.metadata["close ≤ high"].value == 1

    # In a backfill run the checks follow the run's partition: the day's edges count (00:10 to
    # the end of the day is missing), and an instrument with nothing stored fails outright.
    parts = dg.MultiPartitionsDefinition({
        "date": dg.DailyPartitionsDefinition(start_date="2020-01-01", timezone="UTC"),
        "instrument": dg.StaticPartitionsDefinition(["binance:BTC-USDT", "kraken:BTC-USDT"]),
    })  # fmt: skip

    @dg.asset(key=table_key("ohlcv_history"), partitions_def=parts)
    def ohlcv_history() -> None:
        """Stands in for the backfill asset: the rows are already stored."""

    partition = run(clickhouse_server, db, *wanted, assets=[ohlcv_history],
                    partition_key=f"{yesterday}|binance:BTC-USDT")  # fmt: skip
    gaps = partition[("ohlcv_history", "no_candle_gaps")]
    assert (count(gaps), gaps.metadata["missing_candles"].value) == (2, 1 + 1430)
    assert f"binance BTC-USDT candles of {yesterday}" in str(gaps.metadata["window"].value)
    empty = run(clickhouse_server, db, *wanted, assets=[ohlcv_history],
                partition_key=f"{yesterday}|kraken:BTC-USDT")  # fmt: skip
    assert not empty[("ohlcv_history", "no_candle_gaps")].passed
    assert "no candle stored" in str(empty[("ohlcv_history", "no_candle_gaps")].description)
    assert empty[("ohlcv_history", "ohlcv_consistent")].passed


def test_freshness_per_venue_and_dead_letter_rate(
    clickhouse_server: EmbeddedClickHouse, db: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    store(db, [price("binance", 60_000.0, 10_000 + k * 1000) for k in range(20)]
          + [price("coinbase", 60_000.0, 10 * MINUTE + k * 1000) for k in range(20)]
          + [trade(v, 60_000.0, 5_000, i) for i, v in enumerate(VENUES)])  # fmt: skip
    letters = [
        DeadLetter("invalid_price", "price -1", f"market.prices.{venue}.btc-usdt", 0, offset,
                   NOW_MS - 20_000, NOW_MS - 19_990, b"")
        for venue, n in (("binance", 1), ("coinbase", 5)) for offset in range(n)
    ]  # fmt: skip
    insert_rows(db, db.database, "dead_letters", [dead_letter_row(x) for x in letters])
    wanted = [("prices", "fresh_sources"), ("trades", "fresh_sources"),
              ("dead_letters", "failure_rate")]  # fmt: skip

    found = run(clickhouse_server, db, *wanted)
    fresh = found[("prices", "fresh_sources")]
    assert (fresh.passed, count(fresh), fresh.severity) == (False, 2, dg.AssetCheckSeverity.WARN)
    rows = sample(fresh).splitlines()
    assert rows[2].startswith("| kraken |  | ∞ | 120 |")  # never seen: oldest first
    assert rows[3].startswith("| coinbase |")
    assert found[("trades", "fresh_sources")].passed
    rate = found[("dead_letters", "failure_rate")]
    # coinbase prices: 5 dead of 25 = 20 %; binance 1 of 21 ≈ 4.8 % is under 5 %
    assert (rate.passed, count(rate)) == (False, 1)
    assert "| prices | coinbase | 20 | 5 | 0.2 |" in sample(rate)

    monkeypatch.setenv("LUCENT_EXCHANGES", "binance,coinbase")
    monkeypatch.setenv("LUCENT_QUALITY_CONFIG",
                       '{"max_age_s": {"prices": 900}, "max_failure_rate": 0.25}')  # fmt: skip
    relaxed = run(clickhouse_server, db, *wanted)
    assert all(e.passed for e in relaxed.values()), {k: e.description for k, e in relaxed.items()}


def test_the_code_location_runs_every_check_hourly_and_after_backfills(
    clickhouse_server: EmbeddedClickHouse, db: Client
) -> None:
    from lucent_platform.definitions import defs

    tables = defs.resolve_asset_graph().get_all_asset_keys()
    assert {key.asset_key for check in quality_checks for key in check.check_keys} <= tables
    schedule = defs.resolve_schedule_def("quality_checks_hourly")
    assert schedule.cron_schedule == "5 * * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    backfill = defs.resolve_job_def("history_backfill").asset_layer.asset_graph
    assert {k.name for k in backfill.asset_check_keys} == {"ohlcv_consistent", "no_candle_gaps"}

    # The registered job on an empty database: every check runs; only freshness fails, as the
    # configured exchanges have no row at all.
    job = defs.resolve_job_def("quality_checks")
    resource = ClickHouseResource(url=clickhouse_server.url, database=db.database)
    result = job.execute_in_process(resources={"clickhouse": resource})
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == len(quality_checks)
    failed = {(e.asset_key.path[-1], e.check_name) for e in evaluations if not e.passed}
    assert failed == {("prices", "fresh_sources"), ("trades", "fresh_sources")}
