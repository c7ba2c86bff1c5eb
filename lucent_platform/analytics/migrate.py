"""Versioned, idempotent migrations of the analytics schema, plus the settings-driven parts.

``migrate(client, settings)`` creates the database (``LUCENT_CLICKHOUSE_DATABASE``) and its
``schema_migrations`` table, applies the migrations not recorded there, in order, then brings
the parts that follow settings in line: TTLs (``LUCENT_CLICKHOUSE_TTL_DAYS``,
``LUCENT_CLICKHOUSE_CANDLE_TTL_DAYS``) and the Kafka-engine tables
(``LUCENT_CLICKHOUSE_INGEST=kafka-engine``). Running it again is a no-op.

Safe to run twice at once: every statement is ``IF NOT EXISTS`` and ``schema_migrations`` is a
ReplacingMergeTree keyed by version read with FINAL, so a race applies a statement twice to
no effect and records the version once. It refuses, before changing anything, when an
applied migration's file changed (checksum) or the database holds a version this code does
not know.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from lucent_platform.analytics import kafka_engine
from lucent_platform.analytics.candles import CANDLE_TABLES
from lucent_platform.analytics.schema import TABLES

if TYPE_CHECKING:
    from lucent_platform.adapters.clickhouse import Client
    from lucent_platform.config import Settings

_FILE = re.compile(r"(\d{4})_(\w+)\.sql")
_STATEMENT_END = re.compile(r";[ \t]*\n")
_TTL = re.compile(r"\bTTL (.+?)(?:\s+SETTINGS\b|$)", re.S)


class MigrationError(RuntimeError):
    """The database's recorded schema disagrees with this code; the message says how."""


@dataclass(frozen=True)
class Migration:
    """One migration file: version, name, SQL text with ``{db}`` for the database."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """sha256 of the file's text: an applied migration must never change."""
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"

    def statements(self, database: str) -> list[str]:
        """The file's statements with the database filled in, comments kept."""
        text = self.sql.replace("{db}", quote_name(database))
        parts = (part.strip() for part in _STATEMENT_END.split(text + "\n"))
        return [part.removesuffix(";") for part in parts if _has_code(part)]


@dataclass(frozen=True)
class Applied:
    """One step ``migrate`` took (or would take, in a dry run), with its statements."""

    what: str
    statements: tuple[str, ...]


def load_migrations() -> list[Migration]:
    """Every migration shipped with the package, in version order."""
    found = []
    for entry in resources.files("lucent_platform.analytics.migrations").iterdir():
        if match := _FILE.fullmatch(entry.name):
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a version: {versions}")
    return found


def quote_name(name: str) -> str:
    """A ClickHouse identifier in backquotes."""
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _has_code(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())


def bootstrap_statements(database: str) -> list[str]:
    """The database and the table that records applied migrations."""
    db = quote_name(database)
    return [
        f"CREATE DATABASE IF NOT EXISTS {db}",
        f"""CREATE TABLE IF NOT EXISTS {db}.schema_migrations
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(applied_at)
ORDER BY version""",
    ]


def applied_versions(client: Client, database: str) -> dict[int, tuple[str, str]]:
    """``{version: (name, checksum)}`` recorded in the database; empty if it has none."""
    exists = client.query(
        "SELECT count() FROM system.tables WHERE database = {db:String} "
        "AND name = 'schema_migrations'",
        parameters={"db": database},
    ).result_rows[0][0]
    if not exists:
        return {}
    rows = client.query(
        f"SELECT version, name, checksum FROM {quote_name(database)}.schema_migrations FINAL"
    ).result_rows
    return {int(version): (name, checksum) for version, name, checksum in rows}


def check(applied: dict[int, tuple[str, str]], migrations: list[Migration]) -> None:
    """Raise ``MigrationError`` if what is applied does not match the shipped files."""
    known = {m.version: m for m in migrations}
    for version, (name, checksum) in sorted(applied.items()):
        migration = known.get(version)
        if migration is None:
            raise MigrationError(
                f"the database has migration {version:04d}_{name}, which this version of "
                "lucent does not know: upgrade lucent, or use another LUCENT_CLICKHOUSE_DATABASE"
            )
        if migration.checksum != checksum:
            raise MigrationError(
                f"migration {migration.label} changed after it was applied (checksum "
                f"{checksum[:12]} in the database, {migration.checksum[:12]} in the file): "
                "restore the file and put the change in a new migration"
            )


def migrate(client: Client, settings: Settings, *, dry_run: bool = False) -> list[Applied]:
    """Apply what is missing (see the module doc); the steps taken, in order.

    ``dry_run`` changes nothing and returns what would be applied (everything, on a server
    without the database). Raises ``MigrationError`` as ``check`` does, before any change.
    """
    database = settings.clickhouse_database
    migrations = load_migrations()
    applied = applied_versions(client, database)
    check(applied, migrations)
    steps: list[Applied] = []
    if not applied:
        steps.append(Applied("database", tuple(bootstrap_statements(database))))
        if not dry_run:
            for statement in steps[-1].statements:
                client.command(statement)
    for migration in migrations:
        if migration.version in applied:
            continue
        step = Applied(migration.label, tuple(migration.statements(database)))
        steps.append(step)
        if dry_run:
            continue
        for statement in step.statements:
            client.command(statement)
        client.insert(
            "schema_migrations",
            [[migration.version, migration.name, migration.checksum]],
            column_names=["version", "name", "checksum"],
            database=database,
        )
    steps += _settle_ttls(client, settings, dry_run=dry_run, fresh=len(applied) == 0)
    steps += _settle_ingest(client, settings, dry_run=dry_run)
    return steps


def ttl_expression(table: str, days: int) -> str | None:
    """The TTL a table should have for ``days`` of retention (None: keep forever)."""
    if days == 0:
        return None
    time_column = {"market_data_1h": "hour", "market_data_1d": "day"}
    time_column |= dict.fromkeys(("market_data", "quote_candles"), "minute")
    column = time_column.get(table)
    if column is None:
        # Raw rows expire by when they were stored, not by event time: a replayed recording
        # or a backfill of 2021 would otherwise be dropped as it is written. For live data
        # the two differ by milliseconds.
        return f"toDateTime(inserted_at) + toIntervalDay({days})"
    return f"{column} + toIntervalDay({days})"


def _current_ttls(client: Client, database: str) -> dict[str, str | None]:
    rows = client.query(
        "SELECT name, create_table_query FROM system.tables WHERE database = {db:String}",
        parameters={"db": database},
    ).result_rows
    found: dict[str, str | None] = {}
    for name, create in rows:
        match = _TTL.search(create)
        found[name] = " ".join(match[1].split()) if match else None
    return found


def _settle_ttls(
    client: Client, settings: Settings, *, dry_run: bool, fresh: bool
) -> list[Applied]:
    database, db = settings.clickhouse_database, quote_name(settings.clickhouse_database)
    wanted = {table: ttl_expression(table, settings.clickhouse_ttl_days) for table in TABLES}
    wanted |= {
        table: ttl_expression(table, settings.clickhouse_candle_ttl_days) for table in CANDLE_TABLES
    }
    current = {} if fresh and dry_run else _current_ttls(client, database)
    steps = []
    for table, ttl in wanted.items():
        now = current.get(table)
        if now == ttl or (now is not None and ttl is not None and _same_ttl(now, ttl)):
            continue
        if ttl is None:
            statement = f"ALTER TABLE {db}.{table} REMOVE TTL"
        else:
            statement = f"ALTER TABLE {db}.{table} MODIFY TTL {ttl}"
        steps.append(Applied(f"ttl {table}", (statement,)))
        if not dry_run:
            client.command(statement)
    return steps


def _same_ttl(stored: str, wanted: str) -> bool:
    # The server stores the TTL reformatted (backquotes, spaces): compare without them.
    def bare(text: str) -> str:
        return re.sub(r"[\s`]", "", text)

    return bare(stored) == bare(wanted)


def _settle_ingest(client: Client, settings: Settings, *, dry_run: bool) -> list[Applied]:
    database = settings.clickhouse_database
    if settings.clickhouse_ingest == "kafka-engine":
        statements = kafka_engine.create_statements(database, settings)
        existing = _existing(client, database)
        missing = [(name, sql) for name, sql in statements if name not in existing]
        steps = [
            Applied(f"kafka-engine {name}", (kafka_engine.masked(sql),)) for name, sql in missing
        ]
        if not dry_run:
            for _, sql in missing:
                client.command(sql)
        return steps
    present = [name for name in kafka_engine.object_names() if name in _existing(client, database)]
    drops = [f"DROP TABLE IF EXISTS {quote_name(database)}.{name}" for name in present]
    if not dry_run:
        for statement in drops:
            client.command(statement)
    return [Applied("ingest by sink: drop Kafka-engine objects", tuple(drops))] if present else []


def _existing(client: Client, database: str) -> set[str]:
    rows = client.query(
        "SELECT name FROM system.tables WHERE database = {db:String}", parameters={"db": database}
    ).result_rows
    return {name for (name,) in rows}
