"""The embedded ClickHouse server's pure parts: its statement lexer and its fair lock."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lucent_platform.embedded.clickhouse_engine import FairLock, quote
from lucent_platform.embedded.clickhouse_sql import (
    MultiStatementError,
    mask,
    parse,
    split_insert,
)


@pytest.mark.parametrize(
    ("sql", "kind", "fmt"),
    [
        ("SELECT 1", "SELECT", None),
        ("  (SELECT 1) FORMAT JSONEachRow;", "SELECT", "JSONEachRow"),
        ("-- note; FORMAT CSV\nSET max_threads = 1", "SET", None),
        ("SELECT 'x FORMAT CSV'", "SELECT", None),
        ("/* a; b */ use `odd;db`", "USE", None),
        ("CREATE TEMPORARY TABLE t (x UInt8)", "CREATE", None),
    ],
)
def test_statements_are_classified_past_comments_and_literals(
    sql: str, kind: str, fmt: str | None
) -> None:
    statement = parse(sql)
    assert (statement.kind, statement.output_format) == (kind, fmt)


@pytest.mark.parametrize(
    "sql", ["SELECT 1; SELECT 2", "SELECT 'a'; SET readonly = 1", "SELECT 1 /* */ ; DROP TABLE t"]
)
def test_more_than_one_statement_is_refused(sql: str) -> None:
    with pytest.raises(MultiStatementError):
        parse(sql)


def test_inserts_with_data_in_the_body_are_split_from_their_format() -> None:
    assert split_insert("INSERT INTO `t` (`a`, `b`) FORMAT Native\n") == (
        "INSERT INTO `t` (`a`, `b`)",
        "Native",
    )
    assert split_insert("INSERT INTO t VALUES ('FORMAT CSV')") is None
    assert split_insert("INSERT INTO t SELECT 1") is None


@given(st.text())
def test_any_text_is_masked_to_its_own_length_and_never_crashes(sql: str) -> None:
    assert len(mask(sql)) == len(sql)
    with contextlib.suppress(MultiStatementError):
        parse(sql)


def test_quote_escapes_what_would_end_or_cut_a_literal() -> None:
    assert quote("a'b\\c\0") == "'a\\'b\\\\c\\0'"


def test_the_fair_lock_serves_waiters_in_arrival_order() -> None:
    lock, order = FairLock(), []

    def wait(name: int) -> None:
        with lock:
            order.append(name)

    with lock:
        threads = []
        for name in range(8):
            thread = threading.Thread(target=wait, args=(name,))
            thread.start()
            threads.append(thread)
            while len(lock._waiters) < name + 1:  # queued before the next one starts
                time.sleep(0.001)
    for thread in threads:
        thread.join(timeout=10)
    assert order == list(range(8))
