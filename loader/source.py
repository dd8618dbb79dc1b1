"""Read one window of the production ``nps`` table as Arrow record batches.

Two sources: MySQL/MariaDB (production) and SQLite (the demo's stand-in). MySQL is read by
connectorx straight into Arrow when it is installed (the fast path), else by pymysql with its
converters off so that Arrow parses the values (the baseline); both write identical extracts.
Each read is one short, read-only, consistent-snapshot transaction, streamed in batches so
that memory stays flat however large the day is.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pyarrow as pa

from loader.dates import Window
from loader.errors import ConfigError, SourceError, redact, register_secret

#: The schema of every extract, in the column order of ``raw.nps`` (Redshift COPY maps by position).
_FIELDS: list[pa.Field[Any]] = [
    pa.field("id", pa.int64(), nullable=False),
    pa.field("created_at", pa.timestamp("us")),
    pa.field("modified", pa.timestamp("us")),
    pa.field("deleted", pa.bool_()),
    pa.field("score", pa.int16()),
]
EXTRACT_SCHEMA = pa.schema(_FIELDS)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_SQLITE_TS = "%Y-%m-%d %H:%M:%S.%f"
BATCH_ROWS = 50_000


def validate_identifier(value: str, what: str) -> str:
    """Accept plain identifiers only: nothing from the command line is ever formatted into SQL raw."""
    if not _IDENTIFIER.match(value):
        raise ConfigError(
            f"{what} {value!r} is not a plain identifier (letters, digits, underscore; max 64)"
        )
    return value


@dataclass(frozen=True)
class SourceSpec:
    """Where the production table is and which of its columns play which role."""

    url: str
    table: str = "nps"
    cursor_column: str = "modified"
    deleted_column: str | None = "deleted"
    password: str | None = None
    #: MySQL reader: "auto" (connectorx when installed, else pymysql), "pymysql" or "connectorx"
    driver: str = "auto"

    def __post_init__(self) -> None:
        validate_identifier(self.table, "--source-table")
        validate_identifier(self.cursor_column, "--cursor-column")
        if self.deleted_column is not None:
            validate_identifier(self.deleted_column, "--deleted-column")
        if self.driver not in ("auto", "pymysql", "connectorx"):
            raise ConfigError(f"--driver must be auto, pymysql or connectorx, got {self.driver!r}")
        register_secret(self.password)
        register_secret(urlsplit(self.url).password)

    @property
    def select_columns(self) -> list[tuple[str | None, str]]:
        """(source column or None for a constant, extract column) in extract order."""
        return [
            ("id", "id"),
            ("created_at", "created_at"),
            (self.cursor_column, "modified"),
            (self.deleted_column, "deleted"),
            ("score", "score"),
        ]


def read_window(
    spec: SourceSpec, window: Window, batch_rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """Yield the rows of ``window`` as record batches of :data:`EXTRACT_SCHEMA`.

    The snapshot transaction is closed when the generator is exhausted or closed.
    """
    scheme = urlsplit(spec.url).scheme
    if scheme == "sqlite":
        return _read_sqlite(spec, window, batch_rows)
    if scheme in ("mysql", "mariadb"):
        return _read_mysql(spec, window, batch_rows)
    raise ConfigError(
        f"--source must be mysql://user@host:3306/db or sqlite:///path, got scheme {scheme!r}"
    )


#: The types each extract column accepts, by the source's own type names (lower case, no size).
_ACCEPTED_TYPES = {
    "id": {"bigint", "int", "integer", "mediumint", "smallint", "tinyint"},
    "created_at": {"datetime", "timestamp", "text", "varchar"},
    "modified": {"datetime", "timestamp", "text", "varchar"},
    "deleted": {"tinyint", "boolean", "bool", "int", "integer", "smallint"},
    "score": {"tinyint", "smallint", "mediumint", "int", "integer", "bigint"},
}


def _check_columns(spec: SourceSpec, present: dict[str, str]) -> None:
    """``present`` maps each source column (lower case) to its type name."""
    if not present:
        raise SourceError(f"source table {spec.table!r} does not exist (check --source-table)")
    missing = [c for c, _ in spec.select_columns if c is not None and c.lower() not in present]
    if missing:
        raise SourceError(
            f"source table {spec.table!r} has no column {', '.join(missing)} "
            f"(it has {', '.join(sorted(present))}); set --cursor-column/--deleted-column"
        )
    for column, role in spec.select_columns:
        if column is None:
            continue
        found = re.split(r"[\s(]", present[column.lower()].strip().lower(), maxsplit=1)[0]
        if found not in _ACCEPTED_TYPES[role]:
            raise SourceError(
                f"source column {spec.table}.{column} has type {found}, which cannot be read as "
                f"{role} (expected one of {', '.join(sorted(_ACCEPTED_TYPES[role]))}); "
                "has the production schema changed?"
            )


def _column(values: Sequence[Any], target: pa.DataType, as_text: bool) -> pa.Array[Any]:
    """Build one Arrow column; text is parsed by Arrow (in C++), far faster than per-row Python."""
    if as_text:
        return pa.array(values, pa.string()).cast(target)
    return pa.array(values, target)


def _to_batch(rows: Sequence[tuple[Any, ...]], all_text: bool) -> pa.RecordBatch:
    """Rows of (id, created_at, modified, deleted, score) to a batch of :data:`EXTRACT_SCHEMA`.

    ``all_text``: every value arrives as text (pymysql without converters); otherwise only the
    timestamps do (SQLite).
    """
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in EXTRACT_SCHEMA]
    try:
        ids = _column(columns[0], pa.int64(), all_text)
        if ids.null_count:
            raise SourceError("the extract has a row with a null id; nothing was written or loaded")
        arrays = [
            ids,
            _column(columns[1], pa.timestamp("us"), True),
            _column(columns[2], pa.timestamp("us"), True),
            _column(columns[3], pa.int8(), all_text).cast(pa.bool_()),
            _column(columns[4], pa.int16(), all_text),
        ]
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        raise SourceError(f"a source value cannot be read as its extract type: {exc}") from None
    return pa.RecordBatch.from_arrays(arrays, schema=EXTRACT_SCHEMA)


def conform(batch: pa.RecordBatch) -> pa.RecordBatch:
    """An Arrow batch from another driver, cast to exactly :data:`EXTRACT_SCHEMA`."""
    if batch.column(0).null_count:
        raise SourceError("the extract has a row with a null id; nothing was written or loaded")
    try:
        arrays = [
            batch.column(i).cast(field.type)
            if field.type != pa.bool_()
            else batch.column(i).cast(pa.int8()).cast(pa.bool_())
            for i, field in enumerate(EXTRACT_SCHEMA)
        ]
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise SourceError(f"a source value cannot be read as its extract type: {exc}") from None
    return pa.RecordBatch.from_arrays(arrays, schema=EXTRACT_SCHEMA)


def _select_sql(spec: SourceSpec, quote: str, placeholder: str) -> str:
    def q(name: str) -> str:
        return f"{quote}{name}{quote}"

    exprs = [q(src) if src is not None else "0" for src, _ in spec.select_columns]
    cursor = q(spec.cursor_column)
    return (
        f"select {', '.join(exprs)} from {q(spec.table)} "
        f"where {cursor} >= {placeholder} and {cursor} < {placeholder}"
    )


# --- SQLite ---------------------------------------------------------------------------------


def sqlite_path(url: str) -> Path:
    """As SQLAlchemy reads it: ``sqlite:///relative/file.db``, ``sqlite:////absolute/file.db``."""
    parts = urlsplit(url)
    return Path(unquote(parts.netloc + parts.path[1:]))


def _read_sqlite(spec: SourceSpec, window: Window, batch_rows: int) -> Iterator[pa.RecordBatch]:
    path = sqlite_path(spec.url)
    if not path.is_file():
        raise SourceError(
            f"SQLite source {path} does not exist (run nps-loader demo-source first?)"
        )
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    try:
        present = {
            row[1].lower(): row[2] for row in conn.execute(f'pragma table_info("{spec.table}")')
        }
        _check_columns(spec, present)
        conn.execute("begin")  # one read transaction: a consistent snapshot of the file
        cur = conn.execute(
            _select_sql(spec, '"', "?"),
            (window.start.strftime(_SQLITE_TS), window.end.strftime(_SQLITE_TS)),
        )
        while rows := cur.fetchmany(batch_rows):
            yield _to_batch(rows, all_text=False)
        conn.execute("commit")
    except sqlite3.Error as exc:
        raise SourceError(f"SQLite source {path}: {exc}") from exc
    finally:
        conn.close()


# --- MySQL / MariaDB ------------------------------------------------------------------------


@dataclass(frozen=True)
class MySQLParams:
    host: str
    port: int
    user: str
    password: str | None
    database: str


def mysql_params(spec: SourceSpec) -> MySQLParams:
    parts = urlsplit(spec.url)
    database = parts.path.lstrip("/")
    if not parts.hostname or not parts.username or not database:
        raise ConfigError("--source must look like mysql://user@host:3306/database")
    password = spec.password if spec.password is not None else parts.password
    return MySQLParams(
        host=parts.hostname,
        port=parts.port or 3306,
        user=unquote(parts.username),
        password=unquote(password) if password else None,
        database=database,
    )


def connect_mysql(spec: SourceSpec, **kwargs: Any) -> Any:
    import pymysql  # imported here: the SQLite path needs no driver

    params = mysql_params(spec)
    try:
        return pymysql.connect(
            host=params.host,
            port=params.port,
            user=params.user,
            password=params.password or "",
            database=params.database,
            connect_timeout=10,
            charset="utf8mb4",
            **kwargs,
        )
    except pymysql.err.OperationalError as exc:
        code = exc.args[0] if exc.args else None
        where = f"{params.user}@{params.host}:{params.port}/{params.database}"
        if code == 1045:
            raise SourceError(
                f"MySQL refused the login for {where}: check the user and NPS_SOURCE_PASSWORD"
            ) from None
        if code == 1049:
            raise SourceError(
                f"MySQL database {params.database!r} does not exist ({where})"
            ) from None
        raise SourceError(f"cannot connect to MySQL at {where}: {exc.args[-1]}") from None


#: Column types the connectorx fast path reads exactly as the pymysql path does.
_FAST_PATH_TYPES = {
    "bigint",
    "int",
    "integer",
    "mediumint",
    "smallint",
    "tinyint",
    "datetime",
    "boolean",
    "bool",
}


def _read_mysql(spec: SourceSpec, window: Window, batch_rows: int) -> Iterator[pa.RecordBatch]:
    import pymysql
    import pymysql.cursors
    from pymysql.converters import conversions

    # Keep the encoders (for bind parameters), drop the decoders: values arrive as text and
    # Arrow parses them in C++, twice as fast as pymysql building Python objects row by row.
    encoders_only = {key: fn for key, fn in conversions.items() if not isinstance(key, int)}
    conn = connect_mysql(spec, conv=encoders_only)
    try:
        with conn.cursor() as cur:
            cur.execute("set session time_zone = '+00:00'")
            cur.execute("set session transaction isolation level repeatable read")
            cur.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = database() and table_name = %s",
                (spec.table,),
            )
            types = {row[0].lower(): row[1].lower() for row in cur.fetchall()}
            _check_columns(spec, types)
        if _fast_path(spec, types):
            conn.close()
            yield from _read_mysql_connectorx(spec, window, batch_rows)
            return
        with conn.cursor() as cur:
            cur.execute("start transaction with consistent snapshot, read only")
        with conn.cursor(pymysql.cursors.SSCursor) as stream:
            stream.execute(_select_sql(spec, "`", "%s"), (window.start, window.end))
            while rows := stream.fetchmany(batch_rows):
                yield _to_batch(rows, all_text=True)
        conn.commit()
    except pymysql.MySQLError as exc:
        raise SourceError(f"reading MySQL table {spec.table!r} failed: {exc.args[-1]}") from None
    finally:
        if conn.open:
            conn.close()


def _fast_path(spec: SourceSpec, types: dict[str, str]) -> bool:
    """connectorx when it is installed and allowed, and every column has a type it reads as we do."""
    if spec.driver == "pymysql":
        return False
    columns = [c.lower() for c, _ in spec.select_columns if c is not None]
    eligible = all(types[c] in _FAST_PATH_TYPES for c in columns)
    try:
        import connectorx  # noqa: F401
    except ImportError:
        if spec.driver == "connectorx":
            raise ConfigError(
                "--driver connectorx: connectorx is not installed (pip install connectorx)"
            ) from None
        return False
    if spec.driver == "connectorx" and not eligible:
        raise ConfigError(
            "--driver connectorx cannot read these column types; use --driver pymysql"
        )
    return eligible


def _read_mysql_connectorx(
    spec: SourceSpec, window: Window, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    """The fast path: connectorx reads the binary protocol straight into Arrow (Rust, no Python rows).

    One connection, one statement, in the same read-only consistent-snapshot transaction as the
    pymysql path. connectorx takes no bind parameters: the window bounds are our own datetimes,
    formatted here, never input.
    """
    import connectorx as cx

    p = mysql_params(spec)
    url = f"mysql://{quote(p.user, safe='')}:{quote(p.password or '', safe='')}@{p.host}:{p.port}/{p.database}"
    start, end = (f"'{t.strftime('%Y-%m-%d %H:%M:%S.%f')}'" for t in (window.start, window.end))
    sql = _select_sql(spec, "`", "{}").format(start, end)
    try:
        reader = cx.read_sql(
            url,
            sql,
            return_type="arrow_stream",
            batch_size=batch_rows,
            pre_execution_query=[
                "set session time_zone = '+00:00'",
                "set session transaction isolation level repeatable read",
                "start transaction with consistent snapshot, read only",
            ],
        )
        for batch in reader:
            yield conform(batch)
    except SourceError:
        raise
    except Exception as exc:  # connectorx raises RuntimeError/OSError subclasses from Rust
        raise SourceError(
            f"reading MySQL table {spec.table!r} with connectorx failed: {redact(str(exc))}"
        ) from None


# --- Reconciliation -------------------------------------------------------------------------

DailyCounts = dict[str, tuple[int, int, int]]  # ISO day -> (promoters, passives, detractors)


@dataclass(frozen=True)
class SourceTally:
    """What the source says about the responses created in a range of days."""

    counts: DailyCounts  # valid, not-deleted responses last changed before the cutoff, per day
    changed_ids: list[int]  # responses changed at or after the cutoff: not loaded yet


def tally(
    spec: SourceSpec, start: dt.datetime, end: dt.datetime, cutoff: dt.datetime
) -> SourceTally:
    """Count the source's current responses created in ``[start, end)``, per UTC day.

    Responses changed at or after ``cutoff`` (the end of the newest loaded window) are set apart:
    the warehouse cannot know them yet.
    """
    live = f"coalesce({{q}}{spec.deleted_column}{{q}}, 0) = 0" if spec.deleted_column else "1 = 1"

    def statements(q: str, day: str, p: str) -> tuple[str, str]:
        table, cursor = f"{q}{spec.table}{q}", f"{q}{spec.cursor_column}{q}"
        in_range = f"created_at >= {p} and created_at < {p}"
        counts = (
            f"select {day} as d, "
            "sum(case when score >= 9 then 1 else 0 end), "
            "sum(case when score between 7 and 8 then 1 else 0 end), "
            "sum(case when score <= 6 then 1 else 0 end) "
            f"from {table} where {in_range} and {cursor} < {p} "
            f"and score between 0 and 10 and {live.format(q=q)} group by {day}"
        )
        changed = f"select id from {table} where {in_range} and {cursor} >= {p}"
        return counts, changed

    rows: list[tuple[Any, ...]]
    ids: list[tuple[Any, ...]]
    if urlsplit(spec.url).scheme == "sqlite":
        path = sqlite_path(spec.url)
        if not path.is_file():
            raise SourceError(f"SQLite source {path} does not exist")
        bounds = [t.strftime(_SQLITE_TS) for t in (start, end, cutoff)]
        counts_sql, changed_sql = statements('"', "substr(created_at, 1, 10)", "?")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        try:
            conn.execute("begin")  # both queries see one snapshot
            rows = conn.execute(counts_sql, bounds).fetchall()
            ids = conn.execute(changed_sql, bounds).fetchall()
            conn.execute("commit")
        except sqlite3.Error as exc:
            raise SourceError(f"SQLite source {path}: {exc}") from exc
        finally:
            conn.close()
    else:
        import pymysql

        counts_sql, changed_sql = statements("`", "date(created_at)", "%s")
        conn = connect_mysql(spec)
        try:
            with conn.cursor() as cur:
                cur.execute("set session time_zone = '+00:00'")
                cur.execute("start transaction with consistent snapshot, read only")
                cur.execute(counts_sql, (start, end, cutoff))
                rows = list(cur.fetchall())
                cur.execute(changed_sql, (start, end, cutoff))
                ids = list(cur.fetchall())
            conn.commit()
        except pymysql.MySQLError as exc:
            raise SourceError(
                f"reading MySQL table {spec.table!r} failed: {exc.args[-1]}"
            ) from None
        finally:
            conn.close()
    counts = {str(d)[:10]: (int(p), int(pa_), int(de)) for d, p, pa_, de in rows}
    return SourceTally(counts, [int(r[0]) for r in ids])
