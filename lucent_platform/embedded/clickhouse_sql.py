"""Just enough of ClickHouse's lexer for the embedded server to know what a request asks.

chDB runs every ``;``-separated statement it is given and keeps ``SET``/``USE`` for the whole
session, while a ClickHouse server runs one statement per HTTP request and scopes settings to
the request or its ``session_id``. So the server must see where strings, quoted identifiers
and comments are before it looks for ``;``, for the statement's kind or for its ``FORMAT``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A string literal, a quoted identifier, a comment or a heredoc: what `mask` blanks out.
_OPAQUE = re.compile(
    r"""'(?:[^'\\]|\\.|'')*'?|"(?:[^"\\]|\\.|"")*"?|`(?:[^`\\]|\\.|``)*`?"""
    r"""|--[^\n]*|\#[^\n]*|/\*.*?(?:\*/|\Z)|\$(\w*)\$.*?(?:\$\1\$|\Z)""",
    re.S,
)
_LEADING = re.compile(r"[\s(]*([A-Za-z]+)(?:\s+([A-Za-z]+))?")
_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*\Z", re.I)
_INSERT = re.compile(r"\s*(INSERT\s+INTO\s.*?)\s+FORMAT\s+(\w+)\s*;?\s*", re.I | re.S)
READ_KINDS = frozenset({"SELECT", "WITH", "SHOW", "DESC", "DESCRIBE", "EXISTS", "EXPLAIN"})


def mask(sql: str) -> str:
    """``sql`` with every literal, quoted identifier and comment replaced by spaces of the
    same length, so that offsets still point into the original text."""
    return _OPAQUE.sub(lambda m: " " * len(m[0]), sql)


@dataclass(frozen=True)
class Statement:
    """One request's SQL, classified: ``kind`` is its first keyword (``CREATE TEMPORARY`` and
    ``SET`` matter to the server), ``output_format`` the one its FORMAT clause names."""

    sql: str
    kind: str
    second: str
    output_format: str | None

    @property
    def is_read(self) -> bool:
        """True for statements that ClickHouse allows under ``readonly``."""
        return self.kind in READ_KINDS

    @property
    def is_temporary(self) -> bool:
        return self.kind == "CREATE" and self.second == "TEMPORARY"


class MultiStatementError(ValueError):
    """The text holds more than one statement (ClickHouse's HTTP interface runs one)."""


def parse(sql: str) -> Statement:
    """Classify one statement; raise MultiStatementError if ``;`` separates several."""
    masked = mask(sql)
    body = masked.rstrip().removesuffix(";")
    if ";" in body:
        raise MultiStatementError("Multi-statements are not allowed")
    lead = _LEADING.match(masked)
    kind, second = (lead[1].upper(), (lead[2] or "").upper()) if lead else ("", "")
    named = _FORMAT.search(masked)
    return Statement(sql, kind, second, sql[named.start(1) : named.end(1)] if named else None)


def split_insert(sql: str) -> tuple[str, str] | None:
    """``(INSERT INTO … without FORMAT, format)`` for an insert whose data follows in the
    body, else None (``INSERT … VALUES (…)`` or ``INSERT … SELECT`` run as plain queries)."""
    masked = mask(sql)
    if ";" in masked.rstrip().removesuffix(";"):
        raise MultiStatementError("Multi-statements are not allowed")
    found = _INSERT.fullmatch(masked)
    if not found:
        return None
    return sql[found.start(1) : found.end(1)], sql[found.start(2) : found.end(2)]
