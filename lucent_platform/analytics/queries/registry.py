"""What every analytics query shares: its description (``Query``, ``Param``), running it into
typed rows, and the canonical forms of the values users type (pairs, exchanges, times).

Values reach ClickHouse only as bound parameters (``{name:Type}`` in the SQL, ``parameters=``
to clickhouse-connect); the only thing formatted into SQL text is the database name, quoted by
``migrate.quote_name``. Times are bound as UTC text with milliseconds (``2025-09-02
10:30:00.123``): clickhouse-connect renders a ``datetime`` to whole seconds in the server's
time zone, which is neither exact nor UTC everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal

from lucent_platform.analytics.migrate import quote_name

if TYPE_CHECKING:
    import pandas as pd

    from lucent_platform.adapters.clickhouse import Client

Moment = datetime | int
"""A point in time: a timezone-aware ``datetime`` (naive ones are taken as UTC) or epoch ms."""

Kind = Literal["text", "exchange", "pair", "time", "date", "interval", "duration", "float", "int"]

REQUIRED: Any = object()
"""``Param.default`` of a parameter that has none."""


@dataclass(frozen=True)
class Param:
    """One parameter of a query: its name, kind (how the CLI reads it), default and help."""

    name: str
    kind: Kind
    help: str
    default: Any = REQUIRED
    choices: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class Query:
    """One registered query: ``function(client, **params, database=...)`` gives ``row`` rows."""

    name: str
    help: str
    params: tuple[Param, ...]
    row: type
    function: Callable[..., Sequence[Any]]
    table: str
    """The table its answer comes from (the CLI says what that table holds when no row came)."""

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self.row))

    def run(
        self, client: Client, params: Mapping[str, Any], *, database: str | None = None
    ) -> Sequence[Any]:
        """Run with ``params`` (typed values; missing ones take their defaults)."""
        known = {p.name for p in self.params}
        if unknown := sorted(set(params) - known):
            raise ValueError(
                f"query {self.name!r} has no parameter {', '.join(unknown)} "
                f"(it takes: {', '.join(sorted(known)) or 'none'})"
            )
        args = {}
        for param in self.params:
            value = params.get(param.name, param.default)
            if value is REQUIRED:
                raise ValueError(f"query {self.name!r} needs {param.name!r}")
            args[param.name] = value
        return self.function(client, **args, database=database)

    def frame(self, rows: Sequence[Any]) -> pd.DataFrame:
        """``rows`` of this query as a DataFrame with its columns (also when there are none)."""
        import pandas as pd

        columns = self.columns
        values = [[getattr(row, name) for name in columns] for row in rows]
        return pd.DataFrame(values, columns=list(columns))


def select(client: Client, sql: str, parameters: Mapping[str, Any], row: type) -> list[Any]:
    """``sql`` run with bound ``parameters``, each result row as a ``row`` instance."""
    result = client.query(sql, parameters=dict(parameters))
    return [row(*map(_aware, values)) for values in result.result_rows]


def _aware(value: Any) -> Any:
    # Every time column is UTC; clickhouse-connect hands some back naive.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def qualify(database: str | None) -> str:
    """``"`db`."`` in front of a table name, or nothing for the client's own database."""
    return "" if database is None else quote_name(database) + "."


_PAIR = re.compile(r"([A-Z0-9]+)[-/_: ]([A-Z0-9]+)")


def canonical_pair(text: str) -> str:
    """``eth/usdc``, ``ETH_USDC``, `` eth-usdc `` → ``ETH-USDC``; anything else unchanged (it
    is still only a bound value: a pair that matches nothing)."""
    cleaned = text.strip().upper()
    match = _PAIR.fullmatch(cleaned)
    return f"{match[1]}-{match[2]}" if match else text


def canonical_exchange(text: str) -> str:
    """Exchanges are stored lower case (``binance``)."""
    return text.strip().lower()


def to_utc(moment: Moment) -> datetime:
    """A ``Moment`` as an aware UTC ``datetime``."""
    if isinstance(moment, datetime):
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if isinstance(moment, int) and not isinstance(moment, bool):
        return datetime.fromtimestamp(moment / 1000, UTC)
    raise TypeError(f"a time must be a datetime or epoch milliseconds, got {moment!r}")


def bind_time(moment: Moment) -> str:
    """A ``Moment`` as the text a ``DateTime64(3, 'UTC')`` parameter parses exactly."""
    value = to_utc(moment)
    return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"


def today_utc() -> date:
    return datetime.now(UTC).date()


_DURATION = re.compile(r"(\d+)\s*(s|m|h|d)")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_ms(text: str) -> int:
    """``30s``, ``1m``, ``4h``, ``1d`` in milliseconds; raises ``ValueError`` otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if not match or int(match[1]) == 0:
        raise ValueError(f"{text!r} is not a duration: use a positive 30s, 1m, 4h or 1d")
    return int(match[1]) * _SECONDS[match[2]] * 1000
