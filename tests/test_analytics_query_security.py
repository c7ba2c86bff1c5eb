"""Values typed by users are only ever bound parameters: a hostile pair or exchange is a pair
or exchange like any other (no rows, or exactly the rows stored under that very name), and
the tables are intact afterwards."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from lucent_platform.analytics import migrate
from lucent_platform.analytics.queries import ohlcv, spread_history, vwap
from lucent_platform.cli.main import cli
from lucent_platform.config import Settings, with_overrides
from lucent_platform.envelope import new_envelope
from lucent_platform.messages import PriceUpdate, Trade
from tests.fixtures.hostile import TEXTS
from tests.query_data import SYNTHETIC_START, store, synthetic_trades

if TYPE_CHECKING:
    from clickhouse_connect.driver import Client

    from tests.fixtures.clickhouse import EmbeddedClickHouse

HOSTILE = tuple(dict.fromkeys((  # the corpus repeats some: each once
    "x'; DROP TABLE trades; --",
    "ETH-USDC' OR '1'='1",
    'ETH-USDC" OR "1"="1',
    "ETH-USDC`; DROP DATABASE x; --",
    "back\\slash\\",
    "\\'",
    "'",
    "{pair:String}",
    "{start:DateTime64(3, 'UTC')}",
    "{{pair}}",
    "ÉTH-ÜSDC 🚀",
    "ETH-USDC\n; DROP TABLE trades",
    "tab\there",
    "%27%3B",
    *(text for name, text in TEXTS.items() if name not in ("lone_surrogate", "empty")),
)))  # fmt: skip


@pytest.fixture
def db(clickhouse: Client, settings: Settings) -> Client:
    migrate(clickhouse, with_overrides(settings, clickhouse_database=clickhouse.database))
    store(clickhouse, synthetic_trades(count=50))
    return clickhouse


def snapshot(client: Client) -> tuple[set[str], int]:
    tables = client.query(
        "SELECT name FROM system.tables WHERE database = {db:String}",
        parameters={"db": client.database},
    ).result_rows
    count = client.query("SELECT count() FROM trades").result_rows[0][0]
    return {name for (name,) in tables}, count


def test_hostile_pairs_and_exchanges_are_values_with_no_rows(db: Client) -> None:
    before = snapshot(db)
    for text in HOSTILE:
        assert ohlcv(db, "binance", text) == [], text
        assert ohlcv(db, text, "ETH-USDC", "5m") == [], text
        assert vwap(db, text, text) == [], text
        assert vwap(db, None, text) == [], text
        assert spread_history(db, text, min_venues=1) == [], text
    assert snapshot(db) == before
    assert ohlcv(db, "binance", "ETH-USDC")  # the real pair still answers


def test_a_pair_stored_under_a_hostile_name_is_found_exactly(db: Client) -> None:
    at = SYNTHETIC_START
    envelopes = []
    for n, text in enumerate(HOSTILE):
        trade = Trade("binance", text, 100.0 + n, 1.0, str(n))
        quote = PriceUpdate("binance", text, 100.0 + n, bid=99.0 + n, ask=101.0 + n)
        envelopes += [
            new_envelope(trade, source="t", event_time_ms=at, received_time_ms=at),
            new_envelope(quote, source="t", event_time_ms=at, received_time_ms=at),
        ]
    store(db, envelopes)
    before = snapshot(db)
    for n, text in enumerate(HOSTILE):
        (candle,) = ohlcv(db, "binance", text)
        assert (candle.pair, candle.open, candle.trades) == (text, 100.0 + n, 1)
        (row,) = vwap(db, None, text)
        assert (row.pair, row.vwap) == (text, 100.0 + n)
        (spread,) = spread_history(db, text, min_venues=1)
        assert (spread.pair, spread.best_bid, spread.best_ask) == (text, 99.0 + n, 101.0 + n)
    assert snapshot(db) == before


def test_a_hostile_database_name_is_one_quoted_identifier(db: Client) -> None:
    before = snapshot(db)
    for name in (f"{db.database}`.trades; DROP TABLE trades; --", "x\\`y", "a b"):
        with pytest.raises(Exception, match=r"(?i)database"):
            ohlcv(db, "binance", "ETH-USDC", database=name)
    assert snapshot(db) == before


def test_hostile_cli_options_are_values_too(
    db: Client, clickhouse_server: EmbeddedClickHouse, settings: Settings
) -> None:
    local = with_overrides(
        settings, clickhouse_url=clickhouse_server.url, clickhouse_database=db.database
    )
    before = snapshot(db)
    for text in HOSTILE[:4]:
        result = CliRunner().invoke(
            cli, ["query", "ohlcv", "--exchange", text, "--pair", text, "--format", "csv"],
            obj={"settings": local},
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines() == [
            "time,exchange,pair,open,high,low,close,volume,trades,vwap,avg_price"
        ]
    assert snapshot(db) == before


def test_text_that_is_not_utf8_is_a_clear_error_before_any_query(db: Client) -> None:
    """A terminal's undecodable bytes arrive as lone surrogates: refused before a request."""
    before = snapshot(db)
    with pytest.raises(UnicodeEncodeError):
        ohlcv(db, "binance", TEXTS["lone_surrogate"])
    assert snapshot(db) == before


def test_hostile_cli_times_and_names_are_usage_errors(
    db: Client, clickhouse_server: EmbeddedClickHouse, settings: Settings
) -> None:
    """Out-of-range, garbage and undecodable values on `lucent query`: exit 2 (1 for a database
    that does not exist) with one error line, no traceback; nothing reaches ClickHouse."""
    local = with_overrides(
        settings, clickhouse_url=clickhouse_server.url, clickhouse_database=db.database
    )
    before = snapshot(db)
    for option, text in [
        ("--start", "9" * 400), ("--start", "0001-01-01T00:00:00Z"), ("--start", "-5"),
        ("--start", TEXTS["sql_quote"]), ("--end", TEXTS["nul"]), ("--start", "99999999d"),
        ("--pair", "\udcff\udcfe"), ("--exchange", "\udcff"), ("--interval", TEXTS["regex"]),
        ("--database", TEXTS["sql_backtick"]),
    ]:  # fmt: skip
        args = ["query", "ohlcv", "--exchange", "binance", "--pair", "ETH-USDC", option, text]
        result = CliRunner().invoke(cli, args, obj={"settings": local})  # the last one counts
        assert result.exit_code in (1, 2), (option, text, result.output, result.exception)
        assert "Error:" in result.output and "Traceback" not in result.output
        if "\udcff" in text:  # named, not a codec's message
            assert option in result.output and "not UTF-8" in result.output, result.output
    assert snapshot(db) == before
