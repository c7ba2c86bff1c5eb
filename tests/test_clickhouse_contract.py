"""The ClickHouse contract every component relies on (DESIGN.md, decision 5).

One abstract suite, run against the embedded server always and against a real ClickHouse
server when ``LUCENT_CLICKHOUSE_URL`` is set (with ``LUCENT_CLICKHOUSE_USER``/``_PASSWORD``).
Each test works in a database of its own. The embedded subclass adds the process behaviour:
one owner per data dir, clear start-up errors, clean shutdown.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError
from clickhouse_connect.driver.summary import QuerySummary

from lucent_platform.adapters.clickhouse import connect
from tests.fixtures.clickhouse import (
    EmbeddedClickHouse,
    free_port,
    fresh_database,
    running_server,
    server_command,
)

if TYPE_CHECKING:
    from clickhouse_connect.driver import Client

TRICKY = "it's a \\ back\tslash, 'quoted' and\nmultiline"  # escaping must survive both binds
HOSTILE = [
    "x'; DROP TABLE hostile; --",
    'double "quoted" \\" and \\\' escaped',
    "back\\slash at the end\\",
    "NUL\x00inside",
    "unicode: Ζεύς 🚀 — ½",
    "{s:String} and %(s)s look like placeholders",
    "\t\n\r control",
    "",
]
TICKS_DDL = """CREATE TABLE ticks (ts DateTime64(3), pair LowCardinality(String), price Float64,
    qty Float64) ENGINE = MergeTree ORDER BY (pair, ts)"""


def trades_frame(rows: int) -> pd.DataFrame:
    """Trade-like rows: millisecond timestamps, prices, unique ids, a low-cardinality venue."""
    step = np.arange(rows)
    return pd.DataFrame(
        {
            "ts": pd.Timestamp("2026-01-01") + pd.to_timedelta(step, unit="ms"),
            "price": 100.0 + step * 0.25,
            "trade_id": [f"t{i}" for i in step],
            "venue": np.array(["binance", "kraken", "coinbase"])[step % 3],
        }
    )


def run_server(
    data_dir: Path, port: int, host: str = "127.0.0.1"
) -> subprocess.CompletedProcess[str]:
    """Run a server that should refuse to start; its exit code and stderr come back."""
    command = server_command(data_dir, port, host)
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def http_post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """One raw HTTP request to the embedded server: status and body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_for_ping(port: int, timeout: float = 60.0) -> None:
    """Wait until a server started by hand answers /ping."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/ping")
            if connection.getresponse().status == 200:
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
        finally:
            connection.close()


class ClickHouseContract:
    """What every ClickHouse server we support must do; subclasses say which server."""

    @pytest.fixture
    def server_url(self) -> str:
        raise NotImplementedError("a subclass names the server")

    @pytest.fixture
    def connect_args(self) -> dict[str, str]:
        return {}

    @pytest.fixture
    def client(self, server_url: str, connect_args: dict[str, str]) -> Iterator[Client]:
        with fresh_database(server_url, **connect_args) as client:
            yield client

    def test_merge_tree_ticks_feed_an_aggregating_ohlcv_view(self, client: Client) -> None:
        client.command(TICKS_DDL)
        client.command(
            """CREATE TABLE ohlcv_1m (minute DateTime, pair LowCardinality(String),
                open AggregateFunction(argMin, Float64, DateTime64(3)),
                high AggregateFunction(max, Float64), low AggregateFunction(min, Float64),
                close AggregateFunction(argMax, Float64, DateTime64(3)),
                volume AggregateFunction(sum, Float64))
            ENGINE = AggregatingMergeTree ORDER BY (pair, minute)"""
        )
        client.command(
            """CREATE MATERIALIZED VIEW ohlcv_1m_mv TO ohlcv_1m AS
            SELECT toStartOfMinute(ts) AS minute, pair, argMinState(price, ts) AS open,
                maxState(price) AS high, minState(price) AS low, argMaxState(price, ts) AS close,
                sumState(qty) AS volume
            FROM ticks GROUP BY minute, pair"""
        )
        columns = ["ts", "pair", "price", "qty"]
        at = [datetime(2026, 1, 1, 0, 0, s) for s in (1, 20, 40, 59)] + [datetime(2026, 1, 1, 0, 1)]
        first = [[at[0], "BTC-USD", 100.0, 1.0], [at[1], "BTC-USD", 103.0, 0.5]]
        second = [[at[2], "BTC-USD", 99.0, 2.0], [at[3], "BTC-USD", 101.0, 0.5]]
        for batch in (first, second, [[at[4], "BTC-USD", 102.0, 3.0]]):
            client.insert("ticks", batch, column_names=columns)  # the view folds every insert
        bars = client.query(
            """SELECT minute, pair, argMinMerge(open), maxMerge(high), minMerge(low),
                argMaxMerge(close), sumMerge(volume)
            FROM ohlcv_1m GROUP BY minute, pair ORDER BY minute"""
        ).result_rows
        assert bars == [
            (datetime(2026, 1, 1, 0, 0), "BTC-USD", 100.0, 103.0, 99.0, 101.0, 4.0),
            (datetime(2026, 1, 1, 0, 1), "BTC-USD", 102.0, 102.0, 102.0, 102.0, 3.0),
        ]

    def test_replacing_merge_tree_keeps_the_latest_version(self, client: Client) -> None:
        client.command(
            "CREATE TABLE positions (id String, version UInt64, size Float64)"
            " ENGINE = ReplacingMergeTree(version) ORDER BY id"
        )
        columns = ["id", "version", "size"]
        client.insert("positions", [["a", 1, 1.0], ["b", 1, 2.0]], column_names=columns)
        client.insert("positions", [["a", 2, 5.0]], column_names=columns)
        latest = client.query("SELECT id, size FROM positions FINAL ORDER BY id").result_rows
        assert latest == [("a", 5.0), ("b", 2.0)]

    def test_insert_deduplication_token_makes_a_retried_insert_idempotent(
        self, client: Client
    ) -> None:
        client.command(
            "CREATE TABLE fills (id String, qty Float64) ENGINE = MergeTree ORDER BY id"
            " SETTINGS non_replicated_deduplication_window = 100"
        )
        rows = [["f1", 1.0], ["f2", 2.0]]
        for token in ("batch-1", "batch-1", "batch-2"):  # a retry after a crash, then new data
            settings = {"insert_deduplication_token": token}
            client.insert("fills", rows, column_names=["id", "qty"], settings=settings)
        assert client.command("SELECT count() FROM fills") == 4

    def test_settings_apply_to_their_own_request_only(self, client: Client) -> None:
        sql = "SELECT getSetting('max_block_size')"
        default = client.command(sql)
        assert client.query(sql, settings={"max_block_size": 1234}).result_rows == [(1234,)]
        assert client.command(sql) == default

    def test_insert_df_of_200k_rows_round_trips(self, client: Client) -> None:
        client.command(
            "CREATE TABLE trades (ts DateTime64(3), price Float64, trade_id String,"
            " venue LowCardinality(String)) ENGINE = MergeTree ORDER BY ts"
        )
        frame = trades_frame(200_000)
        assert client.insert_df("trades", frame).written_rows == 200_000
        count, total, ids, last = client.query(
            "SELECT count(), sum(price), uniqExact(trade_id), max(ts) FROM trades"
        ).result_rows[0]
        assert (count, ids, last) == (200_000, 200_000, frame.ts.iloc[-1].to_pydatetime())
        assert total == pytest.approx(frame.price.sum())
        kraken = client.query_df(
            "SELECT * FROM trades WHERE venue = {venue:String} ORDER BY ts",
            parameters={"venue": "kraken"},
        )
        expected = frame[frame.venue == "kraken"].reset_index(drop=True)
        pd.testing.assert_frame_equal(kraken, expected, check_dtype=False)

    def test_server_side_bound_parameters(self, client: Client) -> None:
        client.command(TICKS_DDL)
        pairs = ["BTC-USD", TRICKY] * 3
        ticks = [[datetime(2026, 1, 1, 0, 0, s), pairs[s], 100.0 + s, 1.0] for s in range(6)]
        client.insert("ticks", ticks, column_names=["ts", "pair", "price", "qty"])
        rows = client.query(
            "SELECT price FROM ticks WHERE pair = {pair:String}"
            " AND ts >= {since:DateTime64(3)} ORDER BY ts",
            parameters={"pair": TRICKY, "since": datetime(2026, 1, 1, 0, 0, 2)},
        ).result_rows
        assert rows == [(103.0,), (105.0,)]
        counts = client.query_df(
            "SELECT pair, count() AS n FROM ticks WHERE pair IN {pairs:Array(String)}"
            " GROUP BY pair ORDER BY n, pair",
            parameters={"pairs": [TRICKY, "ETH-USD"]},
        )
        assert counts.to_dict("records") == [{"pair": TRICKY, "n": 3}]
        assert client.query("SELECT {s:String}", parameters={"s": TRICKY}).result_rows == [
            (TRICKY,)
        ]

    def test_client_side_bound_parameters(self, client: Client) -> None:
        row = client.query("SELECT %(s)s, %(n)s + 1", parameters={"s": TRICKY, "n": 41})
        assert row.result_rows == [(TRICKY, 42)]
        odd = client.query_df(
            "SELECT number FROM numbers(10) WHERE number IN %(xs)s", parameters={"xs": [1, 3, 5]}
        )
        assert odd["number"].tolist() == [1, 3, 5]

    def test_command_returns_values_or_a_summary(self, client: Client) -> None:
        assert client.ping()
        assert client.command("SELECT 1") == 1
        assert client.command("SELECT 'a', 'b'") == ["a", "b"]
        assert isinstance(client.command("CREATE TABLE t (x UInt8) ENGINE = Memory"), QuerySummary)
        assert client.command("EXISTS TABLE t") == 1
        assert client.command("SELECT x FROM t") == ""  # a result, though empty

    def test_errors_raise_database_error_with_clickhouse_text(self, client: Client) -> None:
        with pytest.raises(DatabaseError, match=r"Code: 60\..*no_such_table") as missing:
            client.query("SELECT * FROM no_such_table")
        assert missing.value.code == 60  # UNKNOWN_TABLE, from X-ClickHouse-Exception-Code
        with pytest.raises(DatabaseError, match=r"Code: 62\. DB::Exception: Syntax error"):
            client.command("SELEC 1")
        with pytest.raises(DatabaseError, match="no_such_table"):
            client.insert("no_such_table", [[1]], column_names=["x"])
        assert client.command("SELECT 1") == 1  # the client is still usable

    def test_hostile_strings_bind_as_data_for_every_query_type(self, client: Client) -> None:
        client.command(
            "CREATE TABLE hostile (id UInt32, ts DateTime64(3), pair String, price Float64)"
            " ENGINE = MergeTree ORDER BY id"
        )
        at = datetime(2026, 1, 1, 12, 30, 15, 250000)
        rows = [[i, at, text, 1.5 * i] for i, text in enumerate(HOSTILE)]
        client.insert("hostile", rows, column_names=["id", "ts", "pair", "price"])
        for i, text in enumerate(HOSTILE):
            echoed = client.query("SELECT {s:String}", parameters={"s": text}).result_rows
            assert echoed == [(text,)]
            found = client.query(
                "SELECT id, ts, price FROM hostile WHERE pair = {pair:String}"
                " AND ts = {ts:DateTime64(3)} AND price = {price:Float64} AND id = {id:UInt32}",
                parameters={"pair": text, "ts": at, "price": 1.5 * i, "id": i},
            ).result_rows
            assert found == [(i, at, 1.5 * i)]
        listed = client.query(
            "SELECT count() FROM hostile WHERE has({pairs:Array(String)}, pair)",
            parameters={"pairs": HOSTILE},
        ).result_rows
        assert listed == [(len(HOSTILE),)]
        assert client.command("SELECT count() FROM hostile") == len(HOSTILE)  # not dropped

    def test_long_bound_arrays_travel_as_a_form(self, client: Client) -> None:
        pairs = [f"PAIR-{i}-{TRICKY}" for i in range(2000)]  # far beyond a URL's worth
        got = client.query(
            "SELECT length({pairs:Array(String)}), {pairs:Array(String)}[2000]",
            parameters={"pairs": pairs},
        ).result_rows
        assert got == [(2000, pairs[-1])]

    def test_many_clients_keep_their_own_database_and_settings(
        self, client: Client, server_url: str, connect_args: dict[str, str]
    ) -> None:
        workers, rounds = 6, 15
        names = [f"{client.database}_w{i}" for i in range(workers)]
        for name in names:
            client.command(f"CREATE DATABASE {name}", use_database=False)
        start_line = threading.Barrier(workers)

        def work(worker: int) -> None:
            own = connect(server_url, database=names[worker], **connect_args)
            own.command("CREATE TABLE seen (n UInt32) ENGINE = MergeTree ORDER BY n")
            start_line.wait()
            for n in range(rounds):
                block = 1000 + worker * 100 + n
                got = own.query(
                    "SELECT currentDatabase(), getSetting('max_block_size')",
                    settings={"max_block_size": block},
                ).result_rows
                assert got == [(names[worker], block)]
                own.insert("seen", [[n]], column_names=["n"])
            assert own.command("SELECT count() FROM seen") == rounds
            own.close()

        try:
            with ThreadPoolExecutor(workers) as pool:
                for done in [pool.submit(work, worker) for worker in range(workers)]:
                    done.result()
        finally:
            for name in names:
                client.command(f"DROP DATABASE IF EXISTS {name}", use_database=False)

    def test_set_and_use_stay_in_their_session(
        self, client: Client, server_url: str, connect_args: dict[str, str]
    ) -> None:
        sql = "SELECT getSetting('max_block_size')"
        other = connect(server_url, database=str(client.database), **connect_args)
        default = other.command(sql)
        client.command("SET max_block_size = 4321")
        assert client.command(sql) == 4321  # clickhouse-connect gives each client a session
        assert other.command(sql) == default
        assert client.query(sql, settings={"max_block_size": 99}).result_rows == [(99,)]
        assert client.command(sql) == 4321  # a request's own setting wins, for it only
        session = {"session_id": f"s-{client.database}"}
        plain = connect(server_url, autogenerate_session_id=False, **connect_args)
        plain.database = ""  # no database URL parameter, which would override USE
        plain.command(f"USE {client.database}", settings=session)
        assert plain.command("SELECT currentDatabase()", settings=session) == client.database
        assert plain.command("SELECT currentDatabase()") == "default"
        other.close()
        plain.close()

    def test_unknown_session_with_session_check_is_an_error(self, client: Client) -> None:
        check = {"session_id": f"missing-{client.database}", "session_check": 1}
        with pytest.raises(DatabaseError) as failed:
            client.command("SELECT 1", settings=check)
        assert failed.value.code == 372  # SESSION_NOT_FOUND

    def test_readonly_refuses_writes_for_that_request_only(self, client: Client) -> None:
        client.command("CREATE TABLE t (x UInt8) ENGINE = MergeTree ORDER BY x")
        for level in (1, 2):
            assert client.command("SELECT count() FROM t", settings={"readonly": level}) == 0
            with pytest.raises(DatabaseError) as refused:
                client.command("INSERT INTO t VALUES (1)", settings={"readonly": level})
            assert refused.value.code == 164  # READONLY
            with pytest.raises(DatabaseError, match="readonly"):
                client.insert("t", [[1]], column_names=["x"], settings={"readonly": level})
        client.insert("t", [[2]], column_names=["x"])  # the next request may write again
        assert client.command("SELECT count() FROM t") == 1

    def test_max_execution_time_stops_a_long_query(self, client: Client) -> None:
        endless = "SELECT count() FROM numbers(100000000000) WHERE sipHash64(number) % 7 = 1"
        with pytest.raises(DatabaseError) as stopped:
            client.command(endless, settings={"max_execution_time": 1})
        assert stopped.value.code == 159  # TIMEOUT_EXCEEDED
        assert client.command("SELECT 1") == 1

    def test_async_insert_still_stores_the_rows(self, client: Client) -> None:
        client.command("CREATE TABLE t (x UInt32) ENGINE = MergeTree ORDER BY x")
        settings = {"async_insert": 1, "wait_for_async_insert": 1}
        client.insert("t", [[1], [2]], column_names=["x"], settings=settings)
        assert client.command("SELECT count() FROM t") == 2

    def test_one_statement_per_request(self, client: Client) -> None:
        with pytest.raises(DatabaseError) as refused:
            client.command("SELECT 1; SET max_block_size = 7")
        assert refused.value.code == 62  # SYNTAX_ERROR: multi-statements are not allowed
        assert client.command("SELECT 'a;b' -- trailing; comment") == "a;b"
        assert client.command("SELECT 1;") == 1

    @pytest.mark.parametrize("method", ["lz4", "zstd", "gzip"])
    def test_compressed_clients_round_trip(
        self, client: Client, server_url: str, connect_args: dict[str, str], method: str
    ) -> None:
        client.command(
            "CREATE TABLE trades (ts DateTime64(3), price Float64, trade_id String,"
            " venue LowCardinality(String)) ENGINE = MergeTree ORDER BY ts"
        )
        packed = connect(server_url, database=str(client.database), compress=method, **connect_args)
        frame = trades_frame(20_000)
        assert packed.insert_df("trades", frame).written_rows == 20_000
        back = packed.query_df("SELECT * FROM trades ORDER BY ts")
        pd.testing.assert_frame_equal(back, frame, check_dtype=False)
        packed.close()

    def test_errors_name_type_mismatches_and_unknown_columns(self, client: Client) -> None:
        client.command("CREATE TABLE t (x UInt32) ENGINE = MergeTree ORDER BY x")
        with pytest.raises(DatabaseError, match=r"Code: \d+\. DB::Exception: .*'abc'"):
            client.command("INSERT INTO t VALUES ('abc')")
        with pytest.raises(DatabaseError) as missing:
            client.command("SELECT nope FROM t")
        assert missing.value.code == 47  # UNKNOWN_IDENTIFIER
        with pytest.raises(DatabaseError, match=r"cannot be parsed as UInt32.*BAD_QUERY_PARAMETER"):
            client.query("SELECT {n:UInt32}", parameters={"n": "seven"})
        assert client.command("SELECT count() FROM t") == 0

    def test_concurrent_clients_insert_and_query(
        self, client: Client, server_url: str, connect_args: dict[str, str]
    ) -> None:
        client.command(
            "CREATE TABLE fills (worker UInt8, seq UInt32, qty Float64)"
            " ENGINE = MergeTree ORDER BY (worker, seq)"
        )
        workers, batches, rows = 8, 5, 500
        start_line = threading.Barrier(workers)

        def work(worker: int) -> None:
            own = connect(server_url, database=str(client.database), **connect_args)
            start_line.wait()
            for batch in range(batches):
                data = [[worker, batch * rows + i, 0.5] for i in range(rows)]
                own.insert("fills", data, column_names=["worker", "seq", "qty"])
                seen = own.command(f"SELECT count() FROM fills WHERE worker = {worker}")
                assert seen == (batch + 1) * rows
            own.close()

        with ThreadPoolExecutor(workers) as pool:
            for done in [pool.submit(work, worker) for worker in range(workers)]:
                done.result()
        total = workers * batches * rows
        stats = client.query("SELECT count(), sum(qty), uniqExact(worker, seq) FROM fills")
        assert stats.result_rows == [(total, total * 0.5, total)]


class TestEmbeddedClickHouse(ClickHouseContract):
    """The contract on the embedded server, plus how its process starts and stops."""

    @pytest.fixture
    def server_url(self, clickhouse_server: EmbeddedClickHouse) -> str:
        return clickhouse_server.url

    @pytest.fixture
    def client(self, clickhouse: Client) -> Client:
        return clickhouse

    def test_a_second_server_on_the_same_data_dir_exits_with_one_clear_line(
        self, clickhouse_server: EmbeddedClickHouse
    ) -> None:
        failed = run_server(clickhouse_server.data_dir, free_port())
        assert failed.returncode == 1
        assert failed.stderr.count("\n") == 1
        assert f"in use by pid {clickhouse_server.process.pid}" in failed.stderr
        assert "LUCENT_CLICKHOUSE_DATA_DIR" in failed.stderr

    def test_a_busy_port_exits_with_one_clear_line(
        self, clickhouse_server: EmbeddedClickHouse, tmp_path: Path
    ) -> None:
        failed = run_server(tmp_path / "data", clickhouse_server.port)
        assert failed.returncode == 1
        assert failed.stderr.count("\n") == 1
        assert f"port {clickhouse_server.port} on 127.0.0.1 is already in use" in failed.stderr

    def test_it_refuses_to_listen_beyond_loopback(self, tmp_path: Path) -> None:
        failed = run_server(tmp_path / "data", free_port(), host="0.0.0.0")
        assert failed.returncode == 1
        assert "loopback only" in failed.stderr

    def test_temporary_tables_are_refused_as_shared_state(self, clickhouse: Client) -> None:
        with pytest.raises(DatabaseError, match="Temporary tables are not supported"):
            clickhouse.command("CREATE TEMPORARY TABLE tmp (x UInt8)")

    def test_requests_from_web_pages_are_refused(
        self, clickhouse_server: EmbeddedClickHouse
    ) -> None:
        for headers in ({"Origin": "http://evil.example"}, {"Host": "evil.example"}):
            status, body = http_post(clickhouse_server.port, "/?query=SELECT+1", b"", headers)
            assert status == 403 and b"ACCESS_DENIED" in body

    def test_a_malformed_request_fails_alone(self, clickhouse_server: EmbeddedClickHouse) -> None:
        with socket.create_connection(("127.0.0.1", clickhouse_server.port), timeout=10) as sock:
            sock.sendall(
                b"POST /?query=SELECT+1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Transfer-Encoding: chunked\r\n\r\nnot-hex\r\n"
            )
            assert sock.recv(65536).startswith(b"HTTP/1.1 400")
        assert http_post(clickhouse_server.port, "/?query=SELECT+1", b"", {}) == (200, b"1\n")

    def test_a_body_over_the_limit_gets_413_and_the_server_carries_on(self, tmp_path: Path) -> None:
        port = free_port()
        command = [*server_command(tmp_path / "data", port), "--max-body-bytes", "100000"]
        log = (tmp_path / "server.log").open("wb")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_ping(port)
            client = connect(f"http://127.0.0.1:{port}")
            client.command("CREATE TABLE t (s String) ENGINE = MergeTree ORDER BY s")
            with pytest.raises(DatabaseError, match="limit of 100000 bytes") as refused:
                client.insert("t", [["x" * 1000]] * 500, column_names=["s"])
            assert refused.value.code == 290  # LIMIT_EXCEEDED, sent as HTTP 413
            status, _ = http_post(port, "/?query=SELECT+1", b"y" * 300_000, {})
            assert status == 413
            client.insert("t", [["x" * 1000]] * 50, column_names=["s"])
            assert client.command("SELECT count() FROM t") == 50
        finally:
            process.terminate()
            process.wait(timeout=30)
            log.close()

    def test_clickhouse_block_compression_is_refused_clearly(self, clickhouse: Client) -> None:
        with pytest.raises(DatabaseError, match="block compression is unsupported") as refused:
            clickhouse.query("SELECT 1", settings={"compress": 1})
        assert refused.value.code == 48  # NOT_IMPLEMENTED, not bytes the client cannot read

    def test_sigterm_and_sigint_stop_it_cleanly_and_release_the_data_dir(
        self, tmp_path: Path
    ) -> None:
        for stored, sig in enumerate((signal.SIGTERM, signal.SIGINT)):
            with running_server(tmp_path / "data", tmp_path / "server.log") as server:
                client = connect(server.url)
                client.command("CREATE TABLE IF NOT EXISTS kept (x UInt8) ENGINE = Log")
                assert client.command("SELECT count() FROM kept") == stored
                client.insert("kept", [[1]], column_names=["x"])
                server.process.send_signal(sig)
                assert server.process.wait(timeout=30) == 0
        assert "released" in (tmp_path / "clickhouse.log").read_text()


@pytest.mark.skipif(
    not os.environ.get("LUCENT_CLICKHOUSE_URL"),
    reason="set LUCENT_CLICKHOUSE_URL to run the contract against a real ClickHouse server",
)
class TestRealClickHouse(ClickHouseContract):
    """The same contract on a real server (production-like)."""

    @pytest.fixture
    def server_url(self) -> str:
        return os.environ["LUCENT_CLICKHOUSE_URL"]

    @pytest.fixture
    def connect_args(self) -> dict[str, str]:
        return {
            "username": os.environ.get("LUCENT_CLICKHOUSE_USER", "default"),
            "password": os.environ.get("LUCENT_CLICKHOUSE_PASSWORD", ""),
        }
