"""The warehouse on Postgres: the same port as the DuckDB :class:`~resources.warehouse.Warehouse`.

Chosen by configuration: ``open_warehouse("postgresql://user@host:5432/db?schema=driftwarden")``
(``schema`` is ours, not libpq's: the tables live in that schema, created if missing).

Writes are safe under concurrency. :meth:`PostgresWarehouse.replace` deletes and inserts
in one transaction that first takes a transaction-scoped advisory lock on the table, so
two runs writing the same partition at once serialize: the second one's DELETE sees the
first one's committed rows and replaces them, and the table ends with one result. A
writer waits at most ``lock_timeout`` seconds, then fails with an error naming the table.
A dropped connection rolls the transaction back (nothing of that write is kept) and
raises :class:`~monitoring_assets.core.ports.WarehouseError`; rerunning the partition repairs it.

Migrations: :meth:`PostgresWarehouse.migrate` applies the numbered :data:`MIGRATIONS`
not yet recorded in ``schema_version``, then creates every registered
:class:`~monitoring_assets.core.ports.TableSpec` that is missing and adds columns a spec gained.
It is idempotent and safe to run from several processes at once.

``connect()`` yields a :class:`PgConnection`, a thin DuckDB-shaped adapter (``execute``
with ``?`` parameters returning something with ``df()``/``fetchall()``/``fetchone()``,
``register`` of a DataFrame as a temporary table) so code written against the DuckDB
connection keeps working where it uses portable SQL.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
import pandas as pd
import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras
from psycopg2 import sql as pgsql

from monitoring_assets.core.names import quote_ident
from monitoring_assets.core.ports import TableSpec, WarehouseError
from monitoring_assets.core.tables import PARTITION_LOG, TABLES
from resources.warehouse_base import (
    PartitionLog,
    frames_for,
    table_spec,
    where_clause,
)

# Portable (DuckDB) column types -> Postgres types; anything else passes through.
PG_TYPES: dict[str, str] = {
    "DOUBLE": "DOUBLE PRECISION",
    "FLOAT": "REAL",
    "BLOB": "BYTEA",
    "HUGEINT": "NUMERIC(38, 0)",
    "UBIGINT": "NUMERIC(20, 0)",
}

SCHEMA_VERSION_TABLE = "schema_version"
APPLICATION_NAME = "driftwarden-warehouse"

# Postgres type OIDs whose values become datetime64 / float64 columns, as DuckDB's .df() does.
_DATETIME_OIDS = {1082, 1114, 1184}  # date, timestamp, timestamptz
_NUMERIC_OIDS = {700, 701, 1700}  # real, double, numeric (e.g. sum(bigint))


def pg_type(portable: str) -> str:
    """The Postgres column type for a portable (DuckDB) type name."""
    return PG_TYPES.get(portable.strip().upper(), portable)


@dataclass(frozen=True)
class Migration:
    """A numbered schema change that :meth:`PostgresWarehouse.migrate` applies once."""

    version: int
    description: str
    apply: Callable[[Any, str], None]  # (cursor, schema) -> None


def _baseline(cur: Any, schema: str) -> None:
    """Version 1: the registered tables (created by the table sync that follows)."""


def _partition_log_index(cur: Any, schema: str) -> None:
    # The exporter and freshness checks read the newest write per model.
    cur.execute(
        pgsql.SQL(
            "CREATE INDEX IF NOT EXISTS partition_log_written_at ON {} (model, written_at)"
        ).format(pgsql.Identifier(schema, PARTITION_LOG.name))
    )


# Append only; never renumber. Table creation and added columns need no entry here:
# migrate() syncs every registered TableSpec after the numbered migrations.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "baseline: registered tables", _baseline),
    Migration(2, "index partition_log (model, written_at)", _partition_log_index),
)


def _lock_key(*parts: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``parts``."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def split_url(url: str) -> tuple[str, str]:
    """(libpq DSN, schema) from a ``postgresql://`` URL whose ``schema`` query parameter
    (default ``public``) names the schema of the tables."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise WarehouseError(f"not a Postgres URL: {redact(url)!r} (expected postgresql://...)")
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = "public"
    kept = []
    for key, value in query:
        if key == "schema":
            schema = value
        else:
            kept.append((key, value))
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", schema):
        raise WarehouseError(
            f"schema {schema!r} in the warehouse URL is not a plain identifier "
            "(letters, digits and underscores, not starting with a digit)"
        )
    dsn = urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(kept), ""))
    return dsn, schema


def redact(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def translate_params(sql: str) -> str:
    """DuckDB/DB-API ``?`` placeholders -> psycopg2 ``%s``; literal ``%`` doubled.

    ``?`` inside quoted strings or identifiers is left alone.
    """
    out: list[str] = []
    quote: str | None = None
    for ch in sql:
        if quote:
            if ch == quote:
                quote = None
            out.append("%%" if ch == "%" else ch)
            continue
        if ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


def _is_connection_loss(exc: BaseException) -> bool:
    return isinstance(exc, psycopg2.InterfaceError) or (
        isinstance(exc, psycopg2.OperationalError)
        and not isinstance(exc, psycopg2.errors.LockNotAvailable | psycopg2.errors.QueryCanceled)
    )


def _column_values(series: pd.Series, portable: str) -> list[Any]:
    """Python values psycopg2 adapts, with NULL for NaN/NaT/None (as DuckDB reads pandas)."""
    kind = portable.strip().upper()
    mask = series.isna().to_numpy()
    if kind == "DATE":
        values = pd.to_datetime(series, errors="raise").dt.date.tolist()
    elif kind.startswith("TIMESTAMP"):
        stamps = pd.to_datetime(series, errors="raise")
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        values = [None if m else ts.to_pydatetime() for ts, m in zip(stamps, mask)]
    elif kind in ("DOUBLE", "FLOAT", "REAL"):
        values = pd.to_numeric(series, errors="raise").astype(float).tolist()
    elif kind in ("BIGINT", "INTEGER", "INT", "SMALLINT"):
        values = [None if m else int(v) for v, m in zip(series.tolist(), mask)]
    elif kind == "BOOLEAN":
        values = [None if m else bool(v) for v, m in zip(series.tolist(), mask)]
    else:
        values = [v.item() if isinstance(v, np.generic) else v for v in series.tolist()]
    return [None if m else v for v, m in zip(values, mask)]


def _frame_records(frame: pd.DataFrame, types: Mapping[str, str]) -> list[tuple]:
    columns = [_column_values(frame[c], types.get(c, "VARCHAR")) for c in frame.columns]
    return list(zip(*columns)) if columns else []


def _portable_type(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(series):
        return "BIGINT"
    if pd.api.types.is_float_dtype(series):
        return "DOUBLE"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "TIMESTAMP"
    non_null = series.dropna()
    if len(non_null) and all(
        isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in non_null
    ):
        return "DATE"
    if len(non_null) and all(isinstance(v, dt.datetime) for v in non_null):
        return "TIMESTAMP"
    return "VARCHAR"


def _result_frame(cur: Any) -> pd.DataFrame:
    """The cursor's rows as a DataFrame typed like DuckDB's ``.df()``."""
    if cur.description is None:
        return pd.DataFrame()
    names = [d.name for d in cur.description]
    rows = cur.fetchall()
    frame = pd.DataFrame.from_records(rows, columns=names) if rows else pd.DataFrame(columns=names)
    for i, desc in enumerate(cur.description):
        col = frame.iloc[:, i]
        if desc.type_code in _DATETIME_OIDS:
            converted = pd.to_datetime(col, utc=desc.type_code == 1184)
            if desc.type_code == 1184:
                converted = converted.dt.tz_localize(None)
            frame.isetitem(i, converted.astype("datetime64[us]"))
        elif desc.type_code in _NUMERIC_OIDS:
            frame.isetitem(i, pd.to_numeric(col, errors="coerce").astype(float))
    return frame


class PgResult:
    """What :meth:`PgConnection.execute` returns: DuckDB-like fetch methods."""

    def __init__(self, cursor: Any):
        self._cursor = cursor

    def df(self) -> pd.DataFrame:
        return _result_frame(self._cursor)

    def fetchall(self) -> list[tuple]:
        return self._cursor.fetchall() if self._cursor.description else []

    def fetchone(self) -> tuple | None:
        return self._cursor.fetchone() if self._cursor.description else None

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount


_BY_NAME = re.compile(
    r"INSERT\s+INTO\s+(?P<table>[A-Za-z_][\w.]*)\s+BY\s+NAME\s+SELECT\s+\*\s+FROM\s+(?P<src>[A-Za-z_]\w*)",
    re.IGNORECASE,
)


class PgConnection:
    """A DuckDB-shaped view of one psycopg2 connection in autocommit mode.

    ``execute("BEGIN TRANSACTION")`` / ``"COMMIT"`` / ``"ROLLBACK"`` work as on DuckDB.
    ``register(name, frame)`` makes a temporary table of ``frame``; the DuckDB idiom
    ``INSERT INTO t BY NAME SELECT * FROM <registered>`` is rewritten to name the
    registered frame's columns. Other DuckDB-only SQL is not translated.
    """

    def __init__(self, raw: Any, schema: str):
        self.raw = raw
        self.schema = schema
        self._registered: dict[str, list[str]] = {}

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> PgResult:
        sql = self._rewrite_by_name(sql)
        cur = self.raw.cursor()
        if params:
            cur.execute(translate_params(sql), [_adapt(p) for p in params])
        else:
            cur.execute(sql)
        return PgResult(cur)

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """A temporary table ``name`` holding ``frame`` (dropped by :meth:`unregister`)."""
        types = {str(c): _portable_type(frame[c]) for c in frame.columns}
        cur = self.raw.cursor()
        cur.execute(pgsql.SQL("DROP TABLE IF EXISTS pg_temp.{}").format(pgsql.Identifier(name)))
        cur.execute(
            pgsql.SQL("CREATE TEMP TABLE {} ({})").format(
                pgsql.Identifier(name),
                pgsql.SQL(", ").join(
                    pgsql.SQL("{} {}").format(pgsql.Identifier(c), pgsql.SQL(pg_type(t)))
                    for c, t in types.items()
                ),
            )
        )
        _insert_rows(cur, pgsql.Identifier(name), frame, types)
        self._registered[name] = list(types)

    def unregister(self, name: str) -> None:
        self._registered.pop(name, None)
        self.raw.cursor().execute(
            pgsql.SQL("DROP TABLE IF EXISTS pg_temp.{}").format(pgsql.Identifier(name))
        )

    def _rewrite_by_name(self, sql: str) -> str:
        def repl(m: re.Match) -> str:
            cols = self._registered.get(m.group("src"))
            if cols is None:
                return m.group(0)
            names = ", ".join(map(quote_ident, cols))
            # Cast to the target's declared types: a column that is all NULL in the frame
            # was registered as VARCHAR and would not insert into a TIMESTAMP column.
            spec = TABLES.get(m.group("table"))
            declared = spec.columns if spec is not None else {}
            values = ", ".join(
                f"CAST({quote_ident(c)} AS {pg_type(declared[c])})"
                if c in declared
                else quote_ident(c)
                for c in cols
            )
            return f"INSERT INTO {m.group('table')} ({names}) SELECT {values} FROM {m.group('src')}"

        return _BY_NAME.sub(repl, sql)


def _adapt(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _insert_rows(cur: Any, target: Any, frame: pd.DataFrame, types: Mapping[str, str]) -> None:
    """Batched multi-row INSERT (``execute_values``) of ``frame`` into ``target``."""
    if not len(frame):
        return
    statement = pgsql.SQL("INSERT INTO {} ({}) VALUES %s").format(
        target, pgsql.SQL(", ").join(pgsql.Identifier(str(c)) for c in frame.columns)
    )
    psycopg2.extras.execute_values(
        cur, statement.as_string(cur), _frame_records(frame, types), page_size=5000
    )


class PostgresWarehouse(PartitionLog):
    """The warehouse in a Postgres schema. See the module docstring for the guarantees.

    ``lock_timeout`` bounds how long a writer waits for another writer of the same table;
    ``connect_timeout`` how long opening a connection may take.
    """

    # (dsn, schema, table) already created/synced in this process.
    _synced: set[tuple[str, str, str]] = set()

    def __init__(self, url: str, lock_timeout: float = 60.0, connect_timeout: int = 10):
        self._url = url
        self.dsn, self.schema = split_url(url)
        self.lock_timeout = lock_timeout
        self.connect_timeout = connect_timeout

    @property
    def url(self) -> str:
        return self._url

    def __repr__(self) -> str:
        return f"PostgresWarehouse({redact(self._url)!r})"

    # ------------------------------------------------------------------ connections

    def _raw(self) -> Any:
        try:
            conn = psycopg2.connect(
                self.dsn,
                connect_timeout=self.connect_timeout,
                application_name=APPLICATION_NAME,
            )
        except psycopg2.OperationalError as exc:
            raise WarehouseError(
                f"cannot connect to the Postgres warehouse {redact(self._url)}: {exc}".strip()
            ) from exc
        with conn.cursor() as cur:
            # Schema first, then public (extensions, shared functions).
            cur.execute(
                pgsql.SQL("SET search_path TO {}, public").format(pgsql.Identifier(self.schema))
            )
        conn.commit()
        return conn

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[PgConnection]:
        """A DuckDB-shaped autocommit connection (see :class:`PgConnection`)."""
        conn = self._raw()
        conn.autocommit = True
        try:
            if read_only:
                conn.cursor().execute("SET default_transaction_read_only = on")
            yield PgConnection(conn, self.schema)
        finally:
            conn.close()

    @contextlib.contextmanager
    def _transaction(self, what: str) -> Iterator[Any]:
        """One transaction on a fresh connection: commit on success, roll back otherwise."""
        conn = self._raw()
        try:
            with conn.cursor() as cur:
                cur.execute("SET LOCAL lock_timeout = %s", [f"{int(self.lock_timeout * 1000)}ms"])
                yield cur
            conn.commit()
        except psycopg2.errors.LockNotAvailable as exc:
            _rollback(conn)
            raise WarehouseError(
                f"{what}: timed out after {self.lock_timeout:g}s waiting for another writer "
                f"of the same table in {redact(self._url)}"
            ) from exc
        except psycopg2.Error as exc:
            _rollback(conn)
            if _is_connection_loss(exc):
                raise WarehouseError(
                    f"{what}: lost the connection to the Postgres warehouse "
                    f"{redact(self._url)} ({str(exc).strip()}); the transaction was rolled "
                    "back and nothing of this write was kept; rerun the partition"
                ) from exc
            raise
        finally:
            conn.close()

    # ------------------------------------------------------------------ schema

    def migrate(self, tables: Sequence[TableSpec] | None = None) -> list[int]:
        """Apply pending numbered migrations, then create/extend the registered tables.

        Returns the migration versions applied by this call (empty when up to date).
        """
        specs = list(tables) if tables is not None else list(TABLES.values())
        applied: list[int] = []
        with self._transaction(f"migrating schema {self.schema!r}") as cur:
            # Serialize migrators (CREATE ... IF NOT EXISTS races on the catalog otherwise).
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key("migrate", self.schema)])
            cur.execute(
                pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(pgsql.Identifier(self.schema))
            )
            cur.execute(
                pgsql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (version INTEGER PRIMARY KEY, "
                    "description VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL "
                    "DEFAULT (now() AT TIME ZONE 'utc'))"
                ).format(pgsql.Identifier(self.schema, SCHEMA_VERSION_TABLE))
            )
            cur.execute(
                pgsql.SQL("SELECT version FROM {}").format(
                    pgsql.Identifier(self.schema, SCHEMA_VERSION_TABLE)
                )
            )
            done = {row[0] for row in cur.fetchall()}
            pending = [
                m for m in sorted(MIGRATIONS, key=lambda m: m.version) if m.version not in done
            ]
            if pending:
                # Numbered migrations may touch any registered table: sync them all first.
                specs = list({**TABLES, **{s.name: s for s in specs}}.values())
            for spec in specs:
                self._sync_table(cur, spec)
            for migration in pending:
                migration.apply(cur, self.schema)
                cur.execute(
                    pgsql.SQL("INSERT INTO {} (version, description) VALUES (%s, %s)").format(
                        pgsql.Identifier(self.schema, SCHEMA_VERSION_TABLE)
                    ),
                    [migration.version, migration.description],
                )
                applied.append(migration.version)
        for spec in specs:
            self._synced.add((self.dsn, self.schema, spec.name))
        return applied

    def schema_version(self) -> int:
        """The highest applied migration (0 before the first :meth:`migrate`)."""
        with self.connect(read_only=True) as con:
            found = con.execute(
                "SELECT to_regclass(?)",
                [f"{quote_ident(self.schema)}.{quote_ident(SCHEMA_VERSION_TABLE)}"],
            ).fetchone()
            if found is None or found[0] is None:
                return 0
            row = con.execute(
                f"SELECT coalesce(max(version), 0) FROM {quote_ident(SCHEMA_VERSION_TABLE)}"
            ).fetchone()
        return int(row[0]) if row else 0

    def _sync_table(self, cur: Any, spec: TableSpec) -> None:
        target = pgsql.Identifier(self.schema, spec.name)
        cols = [
            pgsql.SQL("{} {}").format(pgsql.Identifier(c), pgsql.SQL(pg_type(t)))
            for c, t in spec.columns.items()
        ]
        if spec.key:
            cols.append(
                pgsql.SQL("PRIMARY KEY ({})").format(
                    pgsql.SQL(", ").join(pgsql.Identifier(k) for k in spec.key)
                )
            )
        cur.execute(
            pgsql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(
                target, pgsql.SQL(", ").join(cols)
            )
        )
        # Columns a spec gained since the table was created. ALTER TABLE takes the
        # table's exclusive lock even when the column exists (IF NOT EXISTS is checked
        # under the lock), so only the missing columns are altered: a table that is up
        # to date costs a catalog read, and writers never queue behind readers here.
        cur.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s",
            [self.schema, spec.name],
        )
        present = {row[0] for row in cur.fetchall()}
        for col, typ in spec.columns.items():
            if col in present:
                continue
            cur.execute(
                pgsql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                    target, pgsql.Identifier(col), pgsql.SQL(pg_type(typ))
                )
            )

    def _ensure(self, spec: TableSpec) -> None:
        if (self.dsn, self.schema, spec.name) not in self._synced:
            self.migrate([spec])

    # ------------------------------------------------------------------ writes

    def replace(
        self, table: str, rows: pd.DataFrame | Iterable[pd.DataFrame], where: Mapping[str, Any]
    ) -> int:
        """Delete rows matching ``where`` (equality; a (lo, hi) inclusive range for a tuple;
        membership for a list), then insert ``rows`` (a frame, or frames read one at a
        time), in one transaction serialized with other writers of ``table``. Returns
        rows inserted."""
        spec, frames = frames_for(table, rows)
        clause, params = where_clause(where, spec)
        self._ensure(spec)
        what = f"write to {table!r} where {dict(where)}"
        for attempt in (1, 2):
            inserted = 0
            try:
                with self._transaction(what) as cur:
                    cur.execute(
                        "SELECT pg_advisory_xact_lock(%s)", [_lock_key("table", self.schema, table)]
                    )
                    cur.execute(
                        translate_params(
                            f"DELETE FROM {_qualified(self.schema, table)} WHERE {clause}"
                        ),
                        [_adapt(p) for p in params],
                    )
                    for frame in frames:
                        _insert_rows(cur, pgsql.Identifier(self.schema, table), frame, spec.columns)
                        inserted += len(frame)
                return inserted
            except psycopg2.errors.UndefinedTable:
                # Dropped behind this process's back: recreate once, then retry (only
                # before any frame was read: an iterable cannot be read twice).
                self._synced.discard((self.dsn, self.schema, table))
                if attempt == 2 or inserted:
                    raise
                spec, frames = frames_for(table, rows)
                self._ensure(spec)
            except psycopg2.Error as exc:
                raise WarehouseError(f"{what} failed: {str(exc).strip()}") from exc
        raise AssertionError("unreachable")

    def insert(self, table: str, rows: pd.DataFrame) -> int:
        """Append ``rows`` to ``table`` in one transaction. Returns rows inserted."""
        spec = table_spec(table)
        extra = [c for c in rows.columns if c not in spec.columns]
        if extra:
            raise WarehouseError(f"rows for table {table!r} have unexpected columns {extra}")
        self._ensure(spec)
        try:
            with self._transaction(f"insert into {table!r}") as cur:
                _insert_rows(cur, pgsql.Identifier(self.schema, table), rows, spec.columns)
        except psycopg2.Error as exc:
            raise WarehouseError(f"insert into {table!r} failed: {str(exc).strip()}") from exc
        return len(rows)

    # ------------------------------------------------------------------ reads

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run a read query (``?`` placeholders); an absent table reads as empty (after migrating)."""
        for attempt in (1, 2):
            try:
                with self.connect() as con:
                    return con.execute(sql, params).df()
            except psycopg2.errors.UndefinedTable:
                if attempt == 2:
                    raise
                self._synced.clear()
                self.migrate()
            except psycopg2.Error as exc:
                raise WarehouseError(
                    f"query failed on {redact(self._url)}: {str(exc).strip()}"
                ) from exc
        raise AssertionError("unreachable")

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run one statement (``?`` placeholders) in its own transaction."""
        try:
            with self.connect() as con:
                con.execute(sql, params)
        except psycopg2.Error as exc:
            raise WarehouseError(
                f"statement failed on {redact(self._url)}: {str(exc).strip()}"
            ) from exc

    def drop_schema(self) -> None:
        """Drop this warehouse's schema and everything in it (tests, teardown)."""
        if self.schema == "public":
            raise WarehouseError("refusing to drop the public schema")
        with self._transaction(f"dropping schema {self.schema!r}") as cur:
            cur.execute(
                pgsql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pgsql.Identifier(self.schema))
            )
        self._synced.difference_update({k for k in self._synced if k[1] == self.schema})


def _qualified(schema: str, table: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def _rollback(conn: Any) -> None:
    with contextlib.suppress(psycopg2.Error):
        conn.rollback()
