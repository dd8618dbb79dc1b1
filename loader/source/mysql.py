"""MySQL/MariaDB connections, as both readers and the fingerprints open them: the login and
TLS checks, the session every read runs in, and the probe every read starts with (the table's
column types and keys, and the rows no window can read)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loader.errors import SourceError
from loader.source.spec import RowFilter, SourceSpec
from loader.source.sql import outlier_sql, warn_outliers
from loader.source.types import SourceColumns, check_columns, outlier_bound
from loader.source.url import mysql_params

#: Every read's session: instants in UTC, one consistent snapshot (each reader then starts
#: ``start transaction with consistent snapshot, read only``).
SESSION_SQL = (
    "set session time_zone = '+00:00'",
    "set session transaction isolation level repeatable read",
)


def column_types(cur: Any, table: str) -> dict[str, str]:
    """The table's columns (lower case) and their type names (lower case)."""
    cur.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = database() and table_name = %s",
        (table,),
    )
    return {row[0].lower(): row[1].lower() for row in cur.fetchall()}


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


def connect_as_text(spec: SourceSpec) -> Any:
    """A connection whose values arrive as text (encoders kept for bind parameters)."""
    from pymysql.converters import conversions

    encoders_only = {key: fn for key, fn in conversions.items() if not isinstance(key, int)}
    conn = connect_mysql(spec, conv=encoders_only)
    with conn.cursor() as cur:
        for statement in SESSION_SQL:
            cur.execute(statement)
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

    conn = connect_as_text(spec)
    try:
        with conn.cursor() as cur:
            types = column_types(cur, spec.table)
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


#: MySQL/MariaDB client and server codes for a connection that went away mid-read.
LOST_CONNECTION = {2006, 2013, 2055, 1927, 1317, 1053}


def lost_connection(spec: SourceSpec, detail: str) -> str:
    return (
        f"lost the connection to MySQL while reading table {spec.table!r} ({detail}): the "
        "server closed it or the network dropped it; nothing was written or loaded, re-run"
    )
