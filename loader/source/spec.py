"""What the source is (the table and the roles of its columns) and which rows a read returns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, get_args
from urllib.parse import unquote, urlsplit

from loader.errors import ConfigError, register_secret
from loader.identifiers import validate_identifier
from loader.source.tls import TLS_PARAMETERS, SourceTLS, source_tls
from loader.source.url import check_url

#: How the SQLite demo source stores timestamps (as text), read and written alike.
SQLITE_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
#: Rows per batch of Python rows (pymysql, SQLite): bounds the memory of their tuples.
BATCH_ROWS = 50_000
#: Rows per connectorx batch (Arrow, built in Rust): one Parquet row group (ROW_GROUP_ROWS in
#: loader/lake/writer.py); fewer, larger batches fetch faster (docs/performance.md).
FAST_BATCH_ROWS = 122_880

#: The MySQL readers (--driver)
Driver = Literal["auto", "pymysql", "connectorx"]
DRIVERS: tuple[Driver, ...] = get_args(Driver)


@dataclass(frozen=True)
class SourceSpec:
    """Where the production table is and which of its columns play which role."""

    url: str
    table: str
    cursor_column: str
    deleted_column: str | None
    password: str | None
    #: MySQL reader: "auto" (connectorx when installed, else pymysql), "pymysql" or "connectorx"
    driver: Driver
    #: IANA zone of the source's naive DATETIME values (TIMESTAMP columns are always UTC)
    source_timezone: str
    #: TLS settings given as options / NPS_SOURCE_SSL_* (the URL's query may give them too);
    #: every default is in loader/settings.py's option table, which builds a SourceSpec
    ssl_mode: str | None = None
    ssl_ca: str | None = None
    ssl_cert: str | None = None
    ssl_key: str | None = None

    def __post_init__(self) -> None:
        check_url(self.url)
        validate_identifier(self.table, "--source-table")
        validate_identifier(self.cursor_column, "--cursor-column")
        if self.deleted_column is not None:
            validate_identifier(self.deleted_column, "--deleted-column")
        if self.driver not in DRIVERS:
            raise ConfigError(f"--driver must be one of {', '.join(DRIVERS)}, got {self.driver!r}")
        _ = self.tls  # validated now: a bad TLS setting fails before anything connects
        register_secret(self.password)
        in_url = urlsplit(self.url).password
        register_secret(in_url)
        register_secret(unquote(in_url) if in_url else None)

    @property
    def tls(self) -> SourceTLS | None:
        """The TLS settings of a MySQL source (URL query and options merged), or None."""
        given = (self.ssl_mode, self.ssl_ca, self.ssl_cert, self.ssl_key)
        return source_tls(self.url, dict(zip(TLS_PARAMETERS, given, strict=True)), self.kind)

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
    #: return the rows in the order of the filter's column (reconcile: by created_at, read
    #: through its index)
    ordered: bool = False
