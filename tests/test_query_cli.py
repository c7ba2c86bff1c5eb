"""``lucent query``: every query from the shell in table, CSV and JSON; the server found as other
commands find it, or started on the data dir a stopped stack left; the Dagster resource."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner, Result

from lucent_platform.adapters.clickhouse import connect
from lucent_platform.analytics import migrate
from lucent_platform.analytics.queries import QUERIES, ohlcv
from lucent_platform.cli.main import cli
from lucent_platform.config import Settings, with_overrides
from lucent_platform.stack.endpoints import Endpoints
from resources import ClickHouseResource
from tests.analytics_data import recorded_trades
from tests.fixtures.clickhouse import EmbeddedClickHouse, running_server
from tests.query_data import SYNTHETIC_START, store, synthetic_trades

if TYPE_CHECKING:
    from clickhouse_connect.driver import Client


@pytest.fixture
def db(clickhouse: Client, settings: Settings) -> Client:
    migrate(clickhouse, with_overrides(settings, clickhouse_database=clickhouse.database))
    store(clickhouse, [*recorded_trades(), *synthetic_trades(count=200)])
    return clickhouse


@pytest.fixture
def local(db: Client, clickhouse_server: EmbeddedClickHouse, settings: Settings) -> Settings:
    """Settings naming the session's server and this test's database."""
    return with_overrides(
        settings, clickhouse_url=clickhouse_server.url, clickhouse_database=db.database
    )


def query(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(cli, ["query", *args], obj={"settings": settings})


def test_without_a_name_it_lists_every_query_and_its_parameters(settings: Settings) -> None:
    result = query(settings)
    assert result.exit_code == 0, result.output
    for q in QUERIES.values():
        assert f"{q.name}: " in result.stdout
        for p in q.params:
            assert f"--{p.name.replace('_', '-')} " in result.stdout
    assert "1m|5m|15m|30m|1h|4h|1d" in result.stdout


def test_ohlcv_as_csv_json_and_table(local: Settings, db: Client) -> None:
    expected = ohlcv(db, "binance", "BTC-USDT", "1m")
    assert len(expected) > 3
    args = ["ohlcv", "--exchange", "binance", "--pair", "btc/usdt", "--interval", "1m"]
    result = query(local, *args, "--format", "csv")
    assert result.exit_code == 0, result.output
    header, *rows = list(csv.reader(io.StringIO(result.stdout)))
    assert header == list(QUERIES["ohlcv"].columns)
    assert [float(r[3]) for r in rows] == [c.open for c in expected]
    assert [float(r[7]) for r in rows] == [c.volume for c in expected]  # exact: repr of floats
    assert rows[0][0] == expected[0].time.strftime("%Y-%m-%d %H:%M:%S.000")

    records = json.loads(query(local, *args, "--format", "json").stdout)
    assert [r["close"] for r in records] == [c.close for c in expected]
    assert records[0]["time"] == expected[0].time.isoformat().replace("+00:00", "Z")

    table = query(local, *args).stdout.splitlines()
    assert table[0].split() == list(QUERIES["ohlcv"].columns)
    assert len(table) == len(expected) + 1


def test_times_read_as_iso_epoch_ms_or_age(local: Settings, db: Client) -> None:
    start, end = SYNTHETIC_START + 3_600_000, SYNTHETIC_START + 5 * 3_600_000
    expected = len(ohlcv(db, "kraken", "ETH-USDC", "1h", start, end))
    assert expected == 4
    base = ["ohlcv", "--exchange", "KRAKEN", "--pair", "eth-usdc", "--interval", "1h"]
    for since, until in (
        (str(start), str(end)),
        ("2025-09-01T22:00:00Z", "2025-09-02T02:00:00+00:00"),
    ):
        result = query(local, *base, "--start", since, "--end", until, "--format", "json")
        assert result.exit_code == 0, result.output
        assert len(json.loads(result.stdout)) == expected
    recent = query(local, *base, "--start", "2h", "--format", "json")
    assert json.loads(recent.stdout) == []  # the data is older than two hours
    assert "no rows: " in recent.stderr and "trades" not in recent.stderr


def test_every_query_runs_from_the_shell(local: Settings) -> None:
    args = {
        "ohlcv": ["--exchange", "binance", "--pair", "ETH-USDC"],
        "vwap": ["--pair", "BTC-USDT", "--exchange", "binance"],
        "spread-history": ["--pair", "BTC-USDT", "--bucket", "30s"],
        "top-volume": ["--day", "2025-09-02"],
        "yield-opportunities": ["--min-apy", "4.5", "--min-tvl", "1e6"],
    }
    for name in QUERIES:
        result = query(local, name, *args.get(name, []), "--format", "json")
        assert result.exit_code == 0, (name, result.output)
        assert isinstance(json.loads(result.stdout), list)
    (row,) = json.loads(query(local, *["vwap", *args["vwap"], "--format", "json"]).stdout)
    assert row["exchange"] == "binance" and row["trades"] > 0


def test_bad_parameters_are_usage_errors(local: Settings) -> None:
    bad = (
        ["ohlcv", "--exchange", "binance", "--pair", "ETH-USDC", "--interval", "2m"],
        ["ohlcv", "--pair", "ETH-USDC"],
        ["ohlcv", "--exchange", "binance", "--pair", "ETH-USDC", "--start", "yesterday"],
        ["spread-history", "--pair", "ETH-USDC", "--bucket", "fast"],
        ["top-volume", "--day", "2025-13-01"],
        ["nope"],
    )
    for args in bad:
        result = query(local, *args)
        assert result.exit_code == 2, (args, result.output)


def test_no_tables_is_said_plainly(
    clickhouse: Client, clickhouse_server: EmbeddedClickHouse, settings: Settings
) -> None:
    bare = with_overrides(
        settings, clickhouse_url=clickhouse_server.url, clickhouse_database=clickhouse.database
    )
    result = query(bare, "top-volume")
    assert result.exit_code == 1
    assert "no data" in result.output and "market_data" in result.output


def test_no_data_dir_and_no_stack_is_said_plainly(tmp_path: Path) -> None:
    nothing = Settings(_env_file=None, data_dir=tmp_path / "none", clickhouse_url=None)  # type: ignore[call-arg]
    result = query(nothing, "top-volume")
    assert result.exit_code == 2
    assert "no data to query" in result.output and "lucent demo" in result.output


def test_the_running_stacks_server_answers(local: Settings, clickhouse_server: EmbeddedClickHouse,
                                           tmp_path: Path) -> None:  # fmt: skip
    data_dir = tmp_path / "stack"
    data_dir.mkdir()
    Endpoints("127.0.0.1:1", "nats://127.0.0.1:1", clickhouse_server.url, "x").write(data_dir)
    stack = with_overrides(local, data_dir=data_dir)
    stack = stack.model_copy(update={"clickhouse_url": None})
    result = query(stack, "vwap", "--pair", "BTC-USDT", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["trades"] > 0
    assert "(reading" not in result.stderr  # no server of its own


def test_a_stopped_stacks_data_dir_is_served_for_the_command(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "lucent", clickhouse_url=None)  # type: ignore[call-arg]
    data = settings.resolved_clickhouse_data_dir
    with running_server(data, tmp_path / "logs" / "server.log") as server:
        client = connect(server.url)
        migrate(client, settings)
        client.database = settings.clickhouse_database
        store(client, synthetic_trades(count=100))
        client.close()
    args = ["ohlcv", "--exchange", "binance", "--pair", "ETH-USDC", "--interval", "4h"]
    result = query(settings, *args, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) > 2
    assert f"(reading the embedded server started on {data}" in result.stderr
    # the server it started is gone again: the dir can be opened once more
    with running_server(data, tmp_path / "logs" / "again.log"):
        pass


def test_the_dagster_resource_runs_queries_by_name(local: Settings, db: Client) -> None:
    resource = ClickHouseResource(url=local.clickhouse_url, database=db.database)
    rows = resource.query("ohlcv", exchange="binance", pair="ETH-USDC", interval="5m")
    assert rows == ohlcv(db, "binance", "ETH-USDC", "5m") and rows
    frame = resource.frame("top-volume", day=rows[0].time.date())
    assert list(frame.columns) == list(QUERIES["top-volume"].columns) and len(frame) > 0
    with pytest.raises(ValueError, match="no query 'nope'"):
        resource.query("nope")
    with pytest.raises(ValueError, match="has no parameter"):
        resource.query("top-volume", pair="ETH-USDC")


def test_readme_documents_every_query() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("### Analytics queries", 1)[1].split("\n## ", 1)[0]
    for q in QUERIES.values():
        assert f"lucent query {q.name}" in section
        for p in q.params:
            assert f"--{p.name.replace('_', '-')}" in section, (q.name, p.name)
