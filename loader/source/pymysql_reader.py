"""The pymysql reader (the baseline, and the one reader that can check a table without a unique
id for duplicates in its own snapshot), and the probe every MySQL read starts with: the table's
column types and keys, and the rows no window can read.

pymysql's converters are off: values arrive as text and Arrow parses them in C++, twice as fast
as pymysql building Python objects row by row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from loader.errors import SourceError
from loader.source.spec import RowFilter, SourceSpec
from loader.source.sql import (
    duplicates_sql,
    outlier_sql,
    refuse_duplicates,
    select_sql,
    warn_outliers,
)
from loader.source.types import (
    SourceColumns,
    check_columns,
    outlier_bound,
    source_bounds,
    to_batch,
    to_utc,
)
from loader.source.url import mysql_params


def connect_mysql(spec: SourceSpec, **kwargs: Any) -> Any:
    import pymysql  # imported here: the SQLite path needs no driver

    params = mysql_params(spec.url, spec.password)
    tls = spec.tls
    if tls is not None:
        kwargs["ssl"] = tls.context()
    try:
        conn = pymysql.connect(
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
        detail = str(exc.args[-1])
        if tls is not None and "server doesn't support it" in detail:
            raise SourceError(_unencrypted(where, tls.mode)) from None
        if tls is not None and "CERTIFICATE_VERIFY_FAILED" in detail:
            raise SourceError(
                f"MySQL at {where} presented a certificate that ssl-mode={tls.mode} refuses "
                f"({detail.split('] ', 1)[-1].rstrip(')')}): check ssl-ca"
                + (
                    " and that the certificate is issued for this host"
                    if tls.mode == "VERIFY_IDENTITY"
                    else ""
                )
            ) from None
        raise SourceError(f"cannot connect to MySQL at {where}: {detail}") from None
    if tls is not None:
        _require_encryption(conn, where_of(params), tls.mode)
    return conn


def where_of(params: Any) -> str:
    return f"{params.user}@{params.host}:{params.port}/{params.database}"


def _require_encryption(conn: Any, where: str, mode: str) -> None:
    """pymysql falls back to plain text when the server offers no TLS: refuse that here."""
    with conn.cursor() as cur:
        cur.execute("show session status like 'Ssl_cipher'")
        row = cur.fetchone()
    cipher = row[1] if row else ""
    if not cipher:
        conn.close()
        raise SourceError(_unencrypted(where, mode))


def _unencrypted(where: str, mode: str) -> str:
    return (
        f"MySQL at {where} does not encrypt the connection (ssl-mode={mode}): the server has "
        "no TLS configured (ssl_cert/ssl_key in its configuration); nothing was read"
    )


def _connect_as_text(spec: SourceSpec) -> Any:
    """A connection whose values arrive as text (encoders kept for bind parameters)."""
    from pymysql.converters import conversions

    encoders_only = {key: fn for key, fn in conversions.items() if not isinstance(key, int)}
    conn = connect_mysql(spec, conv=encoders_only)
    with conn.cursor() as cur:
        cur.execute("set session time_zone = '+00:00'")
        cur.execute("set session transaction isolation level repeatable read")
    return conn


@dataclass(frozen=True)
class MySQLTable:
    """The source table as the probe found it."""

    types: dict[str, str]  # source column (lower case) -> type name
    columns: SourceColumns
    id_is_unique: bool


def probe(spec: SourceSpec, row_filter: RowFilter) -> MySQLTable:
    """The table's column types and unique keys (on a connection of its own, closed after), and
    for an extract the warning about rows whose cursor no window reads."""
    import pymysql

    conn = _connect_as_text(spec)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = database() and table_name = %s",
                (spec.table,),
            )
            types = {row[0].lower(): row[1].lower() for row in cur.fetchall()}
            columns = check_columns(spec, types)
            cur.execute(
                "select index_name, group_concat(column_name) from information_schema.statistics "
                "where table_schema = database() and table_name = %s and non_unique = 0 "
                "group by index_name",
                (spec.table,),
            )
            id_is_unique = any(str(cols).lower() == "id" for _, cols in cur.fetchall())
            if row_filter.outliers_after is not None:
                after = outlier_bound(spec, columns, row_filter.outliers_after)
                count_sql, ids_sql = outlier_sql(spec, "`", "%s")
                cur.execute(count_sql, (after,))
                counts = cur.fetchone()
                cur.execute(ids_sql, (after,))
                warn_outliers(spec, counts, [row[0] for row in cur.fetchall()])
        return MySQLTable(types, columns, id_is_unique)
    except pymysql.MySQLError as exc:
        raise SourceError(f"reading MySQL table {spec.table!r} failed: {exc.args[-1]}") from None
    finally:
        conn.close()


def read(
    spec: SourceSpec, row_filter: RowFilter, batch_rows: int, table: MySQLTable
) -> Iterator[pa.RecordBatch]:
    """The rows in one read-only consistent snapshot, streamed by a server-side cursor; without a
    unique id, the duplicate check runs in the same snapshot first."""
    import pymysql
    import pymysql.cursors

    bounds = source_bounds(spec, table.columns, row_filter)
    conn = _connect_as_text(spec)
    try:
        with conn.cursor() as cur:
            cur.execute("start transaction with consistent snapshot, read only")
            if not table.id_is_unique:
                cur.execute(duplicates_sql(spec, row_filter, "`", "%s"), bounds)
                refuse_duplicates(spec, [row[0] for row in cur.fetchall()])
        # Not a `with` block: closing an unbuffered cursor reads the rest of its result, which
        # on a lost connection fails again with an AttributeError that hides the real error.
        stream = conn.cursor(pymysql.cursors.SSCursor)
        stream.execute(select_sql(spec, row_filter, "`", "%s"), bounds)
        while rows := stream.fetchmany(batch_rows):
            yield to_utc(to_batch(spec, rows, all_text=True), spec, table.columns)
        stream.close()
        conn.commit()
    except pymysql.MySQLError as exc:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if code in _LOST_CONNECTION:
            _abandon_unbuffered_result(conn)
            raise SourceError(lost_connection(spec, str(exc.args[-1]))) from None
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


def lost_connection(spec: SourceSpec, detail: str) -> str:
    return (
        f"lost the connection to MySQL while reading table {spec.table!r} ({detail}): the "
        "server closed it or the network dropped it; nothing was written or loaded, re-run"
    )
