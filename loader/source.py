"""Read one window of the production ``nps`` table as Arrow record batches.

Two sources: MySQL/MariaDB (production) and SQLite (the demo's stand-in). MySQL is read by
connectorx straight into Arrow when it is installed (the fast path), else by pymysql with its
converters off so that Arrow parses the values (the baseline); both write identical extracts.
Each read is one short, read-only, consistent-snapshot transaction, streamed in batches so
that memory stays flat however large the day is.

Time zones: MySQL TIMESTAMP columns are read in UTC (session ``time_zone = '+00:00'``); naive
DATETIME values (and the SQLite demo's text) mean wall-clock time in the source zone
(``SourceSpec.source_timezone``) and are converted to UTC here, so every extract holds UTC instants.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import re
import sqlite3
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pyarrow as pa
import pyarrow.compute as pc

from loader.dates import UTC, Window, wall_clock_bounds
from loader.errors import ConfigError, SourceError, first_line, redact, register_secret
from loader.identifiers import validate_identifier
from loader.tables import EXTRACT_SCHEMA, SOURCE_COLUMNS

log = logging.getLogger("loader")

#: How the SQLite demo source stores timestamps (as text), read and written alike.
SQLITE_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
#: Rows per batch of Python rows (pymysql, SQLite): bounds the memory of their tuples.
BATCH_ROWS = 50_000
#: Rows per connectorx batch (Arrow, built in Rust): one Parquet row group (ROW_GROUP_ROWS in
#: loader/lake/writer.py), and fewer, larger batches fetch faster (2M rows: 1.08 s at 50,000, 0.77 s here).
FAST_BATCH_ROWS = 122_880


_URL_FORMS = (
    "mysql://user@host:3306/database, sqlite:///relative/file.db or sqlite:////absolute/file.db"
)


#: How to write a password that a URL cannot carry as it is.
_PASSWORD_HINT = (
    "a password in the URL must be percent-encoded (/ as %2F, @ as %40, # as %23, ? as %3F, "
    ": as %3A, % as %25), or better, left out and set in NPS_SOURCE_PASSWORD"
)


def _check_url(url: str) -> None:
    """A malformed source URL is refused before anything connects (never guessed at). A MySQL
    URL's text is never echoed: a password with an unencoded / @ # ? would be split into parts
    that no redaction can recognise."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("mysql", "mariadb"):
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise ConfigError(
                "--source is not a valid URL (a MySQL URL looks like "
                f"mysql://user@host:3306/database); {_PASSWORD_HINT}"
            ) from None
        database = parts.path.strip("/")
        bad_port = port is not None and not 0 < port < 65536
        unsplit = parts.query or parts.fragment or "@" in parts.path or "@" in database
        if (
            unsplit
            or not parts.hostname
            or not parts.username
            or not database
            or "/" in database
            or bad_port
        ):
            raise ConfigError(
                f"--source must look like mysql://user@host:3306/database; {_PASSWORD_HINT}"
            )
        return
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ConfigError(f"--source is not a valid URL ({exc}); use {_URL_FORMS}") from None
    if parts.scheme == "sqlite":
        if not url.lower().startswith("sqlite:///") or not parts.path.strip("/"):
            raise ConfigError(
                f"--source {redact(url)!r} is not a SQLite URL: it needs three slashes before a "
                "relative path (sqlite:///demo/source.db) and four before an absolute one "
                "(sqlite:////var/data/source.db)"
            )
    else:
        raise ConfigError(f"--source must be one of {_URL_FORMS}, got scheme {parts.scheme!r}")


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
    #: IANA zone of the source's naive DATETIME values (TIMESTAMP columns are always UTC)
    source_timezone: str = UTC

    def __post_init__(self) -> None:
        _check_url(self.url)
        validate_identifier(self.table, "--source-table")
        validate_identifier(self.cursor_column, "--cursor-column")
        if self.deleted_column is not None:
            validate_identifier(self.deleted_column, "--deleted-column")
        if self.driver not in ("auto", "pymysql", "connectorx"):
            raise ConfigError(f"--driver must be auto, pymysql or connectorx, got {self.driver!r}")
        register_secret(self.password)
        in_url = urlsplit(self.url).password
        register_secret(in_url)
        register_secret(unquote(in_url) if in_url else None)

    @property
    def url_has_password(self) -> bool:
        return urlsplit(self.url).password is not None

    @property
    def kind(self) -> str:
        return "sqlite" if urlsplit(self.url).scheme == "sqlite" else "mysql"

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


@dataclass(frozen=True)
class RowFilter:
    """Which rows a read returns: ``column_role`` ("modified" = the cursor, or "created_at") in
    the instants ``[start, end)``, naive UTC. The bounds are put in the source's own terms
    (UTC for TIMESTAMP columns, wall clock of the source zone for naive ones) once its column
    types are known."""

    column_role: str
    start: dt.datetime
    end: dt.datetime
    #: also look for rows that no window can read (cursor NULL or after this instant) and warn
    outliers_after: dt.datetime | None = None


def _outlier_sql(spec: SourceSpec, quote: str, placeholder: str) -> tuple[str, str]:
    """Count, then a few ids of, the rows whose cursor is NULL or after an instant."""
    cursor, table = f"{quote}{spec.cursor_column}{quote}", f"{quote}{spec.table}{quote}"
    where = f"{cursor} is null or {cursor} > {placeholder}"
    return (
        f"select count(case when {cursor} is null then 1 end), count({cursor}) "
        f"from {table} where {where}",
        f"select {quote}id{quote} from {table} where {where} order by {quote}id{quote} limit 5",
    )


def _warn_outliers(spec: SourceSpec, counts: Sequence[Any], ids: Sequence[Any]) -> None:
    null_rows, future_rows = int(counts[0] or 0), int(counts[1] or 0)
    if not null_rows and not future_rows:
        return
    kinds = [
        f"{n} with {spec.cursor_column} {what}"
        for n, what in ((null_rows, "NULL"), (future_rows, "in the future"))
        if n
    ]
    more = " ..." if null_rows + future_rows > len(ids) else ""
    log.warning(
        f"source table {spec.table!r} has {null_rows + future_rows} row(s) that no day's "
        f"extract reads ({' and '.join(kinds)}; id {', '.join(str(i) for i in ids)}{more}): "
        f"fix their {spec.cursor_column} in the source; nps-loader verify reports their days"
    )


def read_window(
    spec: SourceSpec, window: Window, batch_rows: int | None = None
) -> Iterator[pa.RecordBatch]:
    """Yield the rows changed in ``window`` as record batches of :data:`EXTRACT_SCHEMA` (UTC).

    The snapshot transaction is closed when the generator is exhausted or closed.
    """
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return read_rows(
        spec, RowFilter("modified", window.start, window.end, outliers_after=now), batch_rows
    )


def read_rows(
    spec: SourceSpec, row_filter: RowFilter, batch_rows: int | None = None
) -> Iterator[pa.RecordBatch]:
    """``batch_rows``: rows per batch (default: the reader's own, BATCH_ROWS or FAST_BATCH_ROWS)."""
    if spec.kind == "sqlite":
        return _read_sqlite(spec, row_filter, batch_rows or BATCH_ROWS)
    return _read_mysql(spec, row_filter, batch_rows)


#: The types each extract column accepts, by the source's own type names (lower case, no size).
#: A cursor that is not a date/time type would be compared as text and lose rows: refused.
_ACCEPTED_TYPES = {
    "mysql": {
        "id": {"bigint", "int", "integer", "mediumint", "smallint", "tinyint"},
        "created_at": {"datetime", "timestamp"},
        "modified": {"datetime", "timestamp"},
        "deleted": {"tinyint", "boolean", "bool", "int", "integer", "smallint"},
        "score": {"tinyint", "smallint", "mediumint", "int", "integer", "bigint"},
    },
    # SQLite has no date type: the demo stores timestamps as ISO text.
    "sqlite": {
        "id": {"bigint", "int", "integer"},
        "created_at": {"datetime", "timestamp", "text"},
        "modified": {"datetime", "timestamp", "text"},
        "deleted": {"boolean", "bool", "int", "integer", "tinyint"},
        "score": {"int", "integer", "smallint", "tinyint"},
    },
}

#: Source types that hold an instant (read in UTC); every other time type is a naive wall clock.
_INSTANT_TYPES = {"timestamp"}


@dataclass(frozen=True)
class SourceColumns:
    """The source table as it was found: each extract role's type name."""

    types: dict[str, str]  # extract role -> source type name (lower case, no size)

    def is_naive(self, role: str) -> bool:
        return self.types.get(role) not in _INSTANT_TYPES


def _check_columns(spec: SourceSpec, present: dict[str, str]) -> SourceColumns:
    """``present`` maps each source column (lower case) to its type name."""
    if not present:
        raise SourceError(f"source table {spec.table!r} does not exist (check --source-table)")
    missing = [c for c, _ in spec.select_columns if c is not None and c.lower() not in present]
    if missing:
        raise SourceError(
            f"source table {spec.table!r} has no column {', '.join(missing)} "
            f"(it has {', '.join(sorted(present))}); set --cursor-column/--deleted-column"
        )
    types: dict[str, str] = {}
    accepted = _ACCEPTED_TYPES[spec.kind]
    for column, role in spec.select_columns:
        if column is None:
            continue
        found = re.split(r"[\s(]", present[column.lower()].strip().lower(), maxsplit=1)[0]
        if found not in accepted[role]:
            why = (
                " (the cursor must be a date/time type: compared as text it would lose rows)"
                if role == "modified"
                else "; has the production schema changed?"
            )
            raise SourceError(
                f"source column {spec.table}.{column} has type {found or 'none'}, which cannot "
                f"be read as {role} (expected one of {', '.join(sorted(accepted[role]))}){why}"
            )
        types[role] = found
    return SourceColumns(types)


def _source_bounds(
    spec: SourceSpec, columns: SourceColumns, row_filter: RowFilter
) -> tuple[dt.datetime, dt.datetime]:
    """The filter's instants in the terms the source compares its column in."""
    if not columns.is_naive(row_filter.column_role):
        return row_filter.start, row_filter.end
    return wall_clock_bounds(row_filter.start, row_filter.end, spec.source_timezone)


def _outlier_bound(spec: SourceSpec, columns: SourceColumns, instant: dt.datetime) -> dt.datetime:
    """An instant (naive UTC) in the terms the source compares its cursor in."""
    return _source_bounds(spec, columns, RowFilter("modified", instant, instant))[0]


def _to_utc(batch: pa.RecordBatch, spec: SourceSpec, columns: SourceColumns) -> pa.RecordBatch:
    """Naive wall-clock columns of the source zone to naive UTC instants.

    An ambiguous wall-clock time (the repeated hour when clocks go back) is read as its first
    occurrence; a time that does not exist (the hour skipped when clocks go forward) as the last
    instant before the jump. Either way it stays on its local day.
    """
    if spec.source_timezone == UTC:
        return batch
    arrays = list(batch.columns)
    for index, role in ((1, "created_at"), (2, "modified")):
        if columns.is_naive(role):
            naive: Any = arrays[index]
            arrays[index] = pc.assume_timezone(
                naive, spec.source_timezone, ambiguous="earliest", nonexistent="earliest"
            ).cast(pa.timestamp("us"))
    return pa.RecordBatch.from_arrays(arrays, schema=EXTRACT_SCHEMA)


def _column(values: Sequence[Any], target: pa.DataType, as_text: bool) -> pa.Array[Any]:
    """Build one Arrow column; text is parsed by Arrow (in C++), far faster than per-row Python."""
    if as_text:
        return pa.array(values, pa.string()).cast(target)
    return pa.array(values, target)


#: The extract type each role is read as (EXTRACT_SCHEMA, with booleans read as small ints).
_ROLE_TYPES: list[tuple[str, pa.DataType]] = [
    (c.name, pa.int8() if c.arrow == pa.bool_() else c.arrow) for c in SOURCE_COLUMNS
]


def _unreadable_value(
    spec: SourceSpec, index: int, values: Sequence[Any], ids: Sequence[Any], as_text: bool
) -> SourceError:
    """The error for the first value of column ``index`` that its extract type cannot hold,
    naming the column, the value and the row's id (found value by value: only on failure)."""
    role, target = _ROLE_TYPES[index]
    column = dict((r, c) for c, r in spec.select_columns)[role] or role
    sql_type = SOURCE_COLUMNS[index].sql
    for value, id_ in zip(values, ids, strict=True):
        try:
            _column([value], target, as_text)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            text = value.decode() if isinstance(value, bytes) else value
            why = (
                f"outside the range of raw.nps.score ({sql_type}); valid scores are 0-10"
                if role == "score"
                else f"which cannot be read as a {sql_type}"
            )
            return SourceError(
                f"source column {spec.table}.{column} holds {text} (id {id_}), {why}: fix the "
                "row in the source (nothing was written or loaded; raw keeps rows as the source "
                "has them, so a value it cannot store is refused, not changed)"
            )
    return SourceError(
        f"a value of source column {spec.table}.{column} cannot be read as a {sql_type}"
    )


def _to_batch(spec: SourceSpec, rows: Sequence[tuple[Any, ...]], all_text: bool) -> pa.RecordBatch:
    """Rows of (id, created_at, modified, deleted, score) to a batch of :data:`EXTRACT_SCHEMA`.

    ``all_text``: every value arrives as text (pymysql without converters); otherwise only the
    timestamps do (SQLite).
    """
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in EXTRACT_SCHEMA]
    arrays = []
    for index, (_, target) in enumerate(_ROLE_TYPES):
        as_text = all_text or target == pa.timestamp("us")
        try:
            arrays.append(_column(columns[index], target, as_text))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            raise _unreadable_value(spec, index, columns[index], columns[0], as_text) from None
        if index == 0 and arrays[0].null_count:
            raise SourceError("the extract has a row with a null id; nothing was written or loaded")
    arrays[3] = arrays[3].cast(pa.bool_())
    return pa.RecordBatch.from_arrays(arrays, schema=EXTRACT_SCHEMA)


def conform(spec: SourceSpec, batch: pa.RecordBatch) -> pa.RecordBatch:
    """An Arrow batch from another driver, cast to exactly :data:`EXTRACT_SCHEMA`."""
    if batch.column(0).null_count:
        raise SourceError("the extract has a row with a null id; nothing was written or loaded")
    arrays = []
    for index, (_, target) in enumerate(_ROLE_TYPES):
        try:
            arrays.append(batch.column(index).cast(target))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            values, ids = batch.column(index).to_pylist(), batch.column(0).to_pylist()
            raise _unreadable_value(spec, index, values, ids, as_text=False) from None
    arrays[3] = arrays[3].cast(pa.bool_())
    return pa.RecordBatch.from_arrays(arrays, schema=EXTRACT_SCHEMA)


def _select_sql(spec: SourceSpec, row_filter: RowFilter, quote: str, placeholder: str) -> str:
    def q(name: str) -> str:
        return f"{quote}{name}{quote}"

    exprs = [q(src) if src is not None else "0" for src, _ in spec.select_columns]
    column = q(dict((role, src) for src, role in spec.select_columns)[row_filter.column_role] or "")
    return (
        f"select {', '.join(exprs)} from {q(spec.table)} "
        f"where {column} >= {placeholder} and {column} < {placeholder}"
    )


def _duplicates_sql(spec: SourceSpec, row_filter: RowFilter, quote: str, placeholder: str) -> str:
    """Ids that appear more than once among the rows a read returns (at most 11 of them)."""
    select = _select_sql(spec, row_filter, quote, placeholder)
    where = select[select.index(" where ") :]
    table, id_ = f"{quote}{spec.table}{quote}", f"{quote}id{quote}"
    return (
        f"select {id_} from {table}{where} group by {id_} having count(*) > 1 "
        f"order by {id_} limit 11"
    )


def _refuse_duplicates(spec: SourceSpec, ids: Sequence[Any]) -> None:
    """One snapshot of a table keyed by id holds each id once; a source without that key could
    hand over two versions of one response that no order can tell apart."""
    if ids:
        shown = ", ".join(str(i) for i in list(ids)[:10])
        more = " and more" if len(ids) > 10 else ""
        raise SourceError(
            f"source table {spec.table!r} has more than one row for id {shown}{more} in one "
            "snapshot: it needs a primary key (or a unique index) on id, or its versions "
            "cannot be ordered; nothing was written or loaded"
        )


# --- SQLite ---------------------------------------------------------------------------------


def sqlite_path(url: str) -> Path:
    """As SQLAlchemy reads it: ``sqlite:///relative/file.db``, ``sqlite:////absolute/file.db``."""
    parts = urlsplit(url)
    return Path(unquote(parts.netloc + parts.path[1:]))


def _read_sqlite(
    spec: SourceSpec, row_filter: RowFilter, batch_rows: int
) -> Iterator[pa.RecordBatch]:
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
        columns = _check_columns(spec, present)
        bounds = [
            t.strftime(SQLITE_TIMESTAMP_FORMAT) for t in _source_bounds(spec, columns, row_filter)
        ]
        conn.execute("begin")  # one read transaction: a consistent snapshot of the file
        if row_filter.outliers_after is not None:
            after = _outlier_bound(spec, columns, row_filter.outliers_after)
            count_sql, ids_sql = _outlier_sql(spec, '"', "?")
            _warn_outliers(
                spec,
                conn.execute(count_sql, [after.strftime(SQLITE_TIMESTAMP_FORMAT)]).fetchone(),
                [r[0] for r in conn.execute(ids_sql, [after.strftime(SQLITE_TIMESTAMP_FORMAT)])],
            )
        if not _sqlite_id_is_unique(conn, spec.table):
            dupes = conn.execute(_duplicates_sql(spec, row_filter, '"', "?"), bounds).fetchall()
            _refuse_duplicates(spec, [row[0] for row in dupes])
        cur = conn.execute(_select_sql(spec, row_filter, '"', "?"), bounds)
        while rows := cur.fetchmany(batch_rows):
            yield _to_utc(_to_batch(spec, rows, all_text=False), spec, columns)
        conn.execute("commit")
    except sqlite3.Error as exc:
        raise SourceError(f"SQLite source {path}: {exc}") from exc
    finally:
        conn.close()


def _sqlite_id_is_unique(conn: sqlite3.Connection, table: str) -> bool:
    """True when ``id`` alone is the primary key or a (non-partial) unique index."""
    pk = [row[1].lower() for row in conn.execute(f'pragma table_info("{table}")') if row[5]]
    if pk == ["id"]:
        return True
    for _, name, unique, _, partial in conn.execute(f'pragma index_list("{table}")'):
        if unique and not partial:
            cols = [row[2].lower() for row in conn.execute(f'pragma index_info("{name}")')]
            if cols == ["id"]:
                return True
    return False


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
    # NPS_SOURCE_PASSWORD is used exactly as given; only a URL's password is percent-decoded.
    if spec.password is not None:
        password: str | None = spec.password
    else:
        password = unquote(parts.password) if parts.password else None
    return MySQLParams(
        host=parts.hostname,
        port=parts.port or 3306,
        user=unquote(parts.username),
        password=password or None,
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


def _read_mysql(
    spec: SourceSpec, row_filter: RowFilter, batch_rows: int | None
) -> Iterator[pa.RecordBatch]:
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
            columns = _check_columns(spec, types)
            cur.execute(
                "select index_name, group_concat(column_name) from information_schema.statistics "
                "where table_schema = database() and table_name = %s and non_unique = 0 "
                "group by index_name",
                (spec.table,),
            )
            id_is_unique = any(str(cols).lower() == "id" for _, cols in cur.fetchall())
            if row_filter.outliers_after is not None:
                after = _outlier_bound(spec, columns, row_filter.outliers_after)
                count_sql, ids_sql = _outlier_sql(spec, "`", "%s")
                cur.execute(count_sql, (after,))
                counts = cur.fetchone()
                cur.execute(ids_sql, (after,))
                _warn_outliers(spec, counts, [row[0] for row in cur.fetchall()])
        bounds = _source_bounds(spec, columns, row_filter)
        # Without a unique id the duplicate check must share the extract's snapshot: pymysql.
        if id_is_unique and _fast_path(spec, types):
            conn.close()
            for batch in _read_mysql_connectorx(
                spec, row_filter, bounds, batch_rows or FAST_BATCH_ROWS
            ):
                yield _to_utc(batch, spec, columns)
            return
        with conn.cursor() as cur:
            cur.execute("start transaction with consistent snapshot, read only")
            if not id_is_unique:
                cur.execute(_duplicates_sql(spec, row_filter, "`", "%s"), bounds)
                _refuse_duplicates(spec, [row[0] for row in cur.fetchall()])
        # Not a `with` block: closing an unbuffered cursor reads the rest of its result, which
        # on a lost connection fails again with an AttributeError that hides the real error.
        stream = conn.cursor(pymysql.cursors.SSCursor)
        stream.execute(_select_sql(spec, row_filter, "`", "%s"), bounds)
        while rows := stream.fetchmany(batch_rows or BATCH_ROWS):
            yield _to_utc(_to_batch(spec, rows, all_text=True), spec, columns)
        stream.close()
        conn.commit()
    except pymysql.MySQLError as exc:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if code in _LOST_CONNECTION:
            _abandon_unbuffered_result(conn)
            raise SourceError(_lost_connection(spec, str(exc.args[-1]))) from None
        raise SourceError(f"reading MySQL table {spec.table!r} failed: {exc.args[-1]}") from None
    finally:
        if conn.open:
            conn.close()


def _abandon_unbuffered_result(conn: Any) -> None:
    """After a lost connection, mark the half-read unbuffered result as finished: otherwise
    pymysql's cursor and result destructors try to read its rest from the closed socket and
    print "Exception ignored ... AttributeError" tracebacks (pymysql keeps this state private)."""
    result = getattr(conn, "_result", None)
    if result is not None:
        result.unbuffered_active = False


#: MySQL/MariaDB client and server codes for a connection that went away mid-read.
_LOST_CONNECTION = {2006, 2013, 2055, 1927, 1317, 1053}


def _lost_connection(spec: SourceSpec, detail: str) -> str:
    return (
        f"lost the connection to MySQL while reading table {spec.table!r} ({detail}): the "
        "server closed it or the network dropped it; nothing was written or loaded, re-run"
    )


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
    spec: SourceSpec,
    row_filter: RowFilter,
    bounds: tuple[dt.datetime, dt.datetime],
    batch_rows: int,
) -> Iterator[pa.RecordBatch]:
    """The fast path: connectorx reads the binary protocol straight into Arrow (Rust, no Python rows).

    One connection, one statement, in the same read-only consistent-snapshot transaction as the
    pymysql path. connectorx takes no bind parameters: the window bounds are our own datetimes,
    formatted here, never input.
    """
    import connectorx as cx

    p = mysql_params(spec)
    url = f"mysql://{quote(p.user, safe='')}:{quote(p.password or '', safe='')}@{p.host}:{p.port}/{p.database}"
    start, end = (f"'{t.strftime('%Y-%m-%d %H:%M:%S.%f')}'" for t in bounds)
    sql = _select_sql(spec, row_filter, "`", "{}").format(start, end)
    try:
        with _rust_panics_kept_off_stderr():
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
                yield conform(spec, batch)
    except SourceError:
        raise
    except BaseException as exc:  # Rust errors arrive as RuntimeError/OSError, or a panic
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise  # KeyboardInterrupt, SystemExit, GeneratorExit: not a read failure
        detail = redact(first_line(exc))
        if "convert the value" in detail:  # which value of which row: the pymysql reader says
            _locate_unreadable(spec, row_filter)
        if re.search(r"io ?error|disconnect|connection|broken pipe", detail, re.IGNORECASE):
            raise SourceError(_lost_connection(spec, detail)) from None
        raise SourceError(
            f"reading MySQL table {spec.table!r} with connectorx failed: {detail}"
        ) from None


def _locate_unreadable(spec: SourceSpec, row_filter: RowFilter) -> None:
    """Re-read the window with pymysql, which raises an error naming the column, the value and
    the row that connectorx could not convert (only after a failed read)."""
    for _ in _read_mysql(dataclasses.replace(spec, driver="pymysql"), row_filter, None):
        pass


@contextlib.contextmanager
def _rust_panics_kept_off_stderr() -> Iterator[None]:
    """A Rust panic prints its backtrace on file descriptor 2 before Python sees the exception.
    While connectorx reads, fd 2 goes to a temporary file: after a failure it is dropped (the
    error is reported in one line), after a success anything written there is passed on."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if not failed:
                captured.seek(0)
                if text := captured.read():
                    sys.stderr.buffer.write(text)
                    sys.stderr.flush()
