"""``lucent query NAME``: the analytics queries (``analytics.queries.QUERIES``) from the shell.

One subcommand per query, its options made from the query's parameters; ``lucent query`` alone
lists them. The answer comes from ``LUCENT_CLICKHOUSE_URL``, the running stack, or the data
dir a stopped ``lucent up``/``lucent demo`` left (``stack.clickhouse_reader``).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import click

from lucent_platform.analytics.queries import QUERIES, Param, Query
from lucent_platform.analytics.queries.registry import duration_ms
from lucent_platform.cli.main import settings_from
from lucent_platform.cli.times import parse_time

if TYPE_CHECKING:
    from lucent_platform.adapters.clickhouse import Client

FORMATS = ("table", "csv", "json")


class _Ordered(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group(cls=_Ordered, invoke_without_command=True)
@click.pass_context
def query(ctx: click.Context) -> None:
    """Run an analytics query on ClickHouse: `lucent query NAME [--param value …]
    [--format table|csv|json]`. Without NAME, list the queries and their parameters.

    Asks LUCENT_CLICKHOUSE_URL, else the running stack's server, else starts the embedded
    server for the command on the data dir `lucent up`/`lucent demo` left (LUCENT_DATA_DIR).
    """
    if ctx.invoked_subcommand is None:
        click.echo(listing())


def listing() -> str:
    """Every query with its parameters, types, defaults and help."""
    lines = []
    for q in QUERIES.values():
        lines.append(f"{q.name}: {q.help}")
        for p in q.params:
            flag = f"--{_option(p)} {'|'.join(p.choices) or p.kind.upper()}"
            lines.append(f"    {flag:<24} {p.help}{_default(p)}")
        lines.append(f"    columns: {', '.join(q.columns)}")
    return "\n".join(lines)


def _default(param: Param) -> str:
    if param.required:
        return " [required]"
    return "" if param.default is None else f" [default: {param.default}]"


def _option(param: Param) -> str:
    return param.name.replace("_", "-")


def _parse_time(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    return None if value is None else parse_time(value)


def _parse_duration(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        try:
            duration_ms(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


def _parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None or value == "today":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a day: use YYYY-MM-DD") from None


def _utf8(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Text the query sends as a parameter: a terminal's undecodable bytes (lone surrogates)
    cannot be sent, so they are a usage error naming the option."""
    if value is not None:
        try:
            value.encode()
        except UnicodeEncodeError:
            raise click.BadParameter(f"{value[:40]!r} is not UTF-8 text") from None
    return value


_CALLBACKS: dict[str, Callable[[click.Context, click.Parameter, Any], Any]] = {
    "time": _parse_time,
    "duration": _parse_duration,
    "date": _parse_date,
    "text": _utf8,
    "exchange": _utf8,
    "pair": _utf8,
}
_TYPES: dict[str, Any] = {"int": click.INT, "float": click.FLOAT}


def _click_option(param: Param) -> click.Option:
    kind = click.Choice(param.choices) if param.choices else _TYPES.get(param.kind, click.STRING)
    return click.Option(
        [f"--{_option(param)}", param.name],
        type=kind,
        required=param.required,
        default=None,  # an option left out keeps the query's own default
        callback=_CALLBACKS.get(param.kind),
        help=param.help + ("" if param.required else _default(param)),
    )


def _command(q: Query) -> click.Command:
    def run(**options: Any) -> None:
        ctx = click.get_current_context()
        fmt, database = options.pop("output_format"), options.pop("database")
        params = {name: value for name, value in options.items() if value is not None}
        _run(ctx, q, params, fmt, database)

    return click.Command(
        q.name,
        callback=run,
        help=q.help + f"\n\nColumns: {', '.join(q.columns)}.",
        params=[
            *(_click_option(p) for p in q.params),
            click.Option(
                ["--format", "output_format"], type=click.Choice(FORMATS), default="table",
                show_default=True, help="Output format.",
            ),
            click.Option(
                ["--database"], help="The analytics database [default: LUCENT_CLICKHOUSE_DATABASE]."
            ),
        ],
    )  # fmt: skip


for _query in QUERIES.values():
    query.add_command(_command(_query))


def _run(
    ctx: click.Context, q: Query, params: dict[str, Any], fmt: str, database: str | None
) -> None:
    from lucent_platform.adapters.clickhouse import connect, credentials
    from lucent_platform.stack.clickhouse_reader import clickhouse_for_reading

    settings = settings_from(ctx)
    database = database or settings.clickhouse_database
    with clickhouse_for_reading(settings) as source:
        if source.started:
            click.echo(f"(reading {source.via})", err=True)
        try:
            client = connect(
                source.url,
                **credentials(settings),
            )
        except Exception as exc:  # the client's errors are not importable here (layering)
            raise click.ClickException(f"cannot reach ClickHouse at {source.url}: {exc}") from None
        try:
            _require_table(client, database, q.table, source.url)
            try:
                rows = q.run(client, params, database=database)
            except ValueError as exc:
                raise click.UsageError(str(exc)) from None
            if not rows:
                click.echo(f"no rows: {coverage(client, database, q.table)}", err=True)
        finally:
            client.close()
    click.echo(render(q.columns, rows, fmt), nl=False)


def _require_table(client: Client, database: str, table: str, url: str) -> None:
    found = client.query(
        "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {t:String}",
        parameters={"db": database, "t": table},
    ).result_rows[0][0]
    if not found:
        raise click.ClickException(
            f"no data: database {database!r} at {url} has no {table} table — nothing has been "
            "stored there yet (the ClickHouse sink creates and fills the analytics tables)"
        )


def coverage(client: Client, database: str, table: str) -> str:
    """What ``table`` holds, in words: its row count and time range."""
    from lucent_platform.analytics.migrate import quote_name

    column = "minute" if table == "market_data" else "event_time"
    count, first, last = client.query(
        f"SELECT count(), min({column}), max({column}) FROM {quote_name(database)}.{table}"
    ).result_rows[0]
    if not count:
        return f"{database}.{table} is empty"
    return f"{database}.{table} holds {count} row(s) from {_text(first)} to {_text(last)} (UTC)"


def render(columns: Sequence[str], rows: Sequence[Any], fmt: str) -> str:
    """``rows`` (dataclass instances) as an aligned table, CSV with a header, or a JSON array."""
    values = [[getattr(row, name) for name in columns] for row in rows]
    if fmt == "json":
        records = [dict(zip(columns, map(_json_value, row), strict=True)) for row in values]
        return json.dumps(records, indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_text(v, exact=True) for v in row] for row in values])
        return out.getvalue()
    cells = [list(columns), *([_text(v) for v in row] for row in values)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    numeric = [bool(values) and isinstance(values[0][i], int | float) for i in range(len(columns))]
    lines = [
        "  ".join(
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(row, widths, numeric, strict=True)
        ).rstrip()
        for row in cells
    ]
    return "\n".join(lines) + "\n"


def _text(value: Any, *, exact: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="milliseconds").removesuffix("+00:00")
    if isinstance(value, float) and not exact:
        return f"{value:.10g}"
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


COMMANDS = [query]
