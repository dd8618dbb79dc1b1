"""What the source is (the table and the roles of its columns) and which rows a read returns."""

from __future__ import annotations

import datetime as dt
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from loader.dates import UTC
from loader.errors import ConfigError, register_secret
from loader.identifiers import validate_identifier
from loader.source.url import SSL_MODES, check_url, url_tls

#: How the SQLite demo source stores timestamps (as text), read and written alike.
SQLITE_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
#: Rows per batch of Python rows (pymysql, SQLite): bounds the memory of their tuples.
BATCH_ROWS = 50_000
#: Rows per connectorx batch (Arrow, built in Rust): one Parquet row group (ROW_GROUP_ROWS in
#: loader/lake/writer.py), and fewer, larger batches fetch faster (2M rows: 1.08 s at 50,000, 0.77 s here).
FAST_BATCH_ROWS = 122_880


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
    #: TLS settings given as options / NPS_SOURCE_SSL_* (the URL's query may give them too)
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
        if self.driver not in ("auto", "pymysql", "connectorx"):
            raise ConfigError(f"--driver must be auto, pymysql or connectorx, got {self.driver!r}")
        _ = self.tls  # validated now: a bad TLS setting fails before anything connects
        register_secret(self.password)
        in_url = urlsplit(self.url).password
        register_secret(in_url)
        register_secret(unquote(in_url) if in_url else None)

    @property
    def tls(self) -> SourceTLS | None:
        """The TLS settings of a MySQL source (URL query and options merged), or None."""
        given = {
            "ssl-mode": self.ssl_mode,
            "ssl-ca": self.ssl_ca,
            "ssl-cert": self.ssl_cert,
            "ssl-key": self.ssl_key,
        }
        merged = {k: v for k, v in given.items() if v}
        for name, value in url_tls(self.url).items():
            if merged.setdefault(name, value) != value:
                env = "NPS_SOURCE_" + name.replace("-", "_").upper()
                raise ConfigError(
                    f"{name} is {merged[name]!r} in --source-{name} / {env} but {value!r} in "
                    "the --source URL: give it once"
                )
        if not merged:
            return None
        if self.kind != "mysql":
            raise ConfigError("ssl-mode, ssl-ca, ssl-cert and ssl-key apply to a MySQL source")
        tls = SourceTLS(
            mode=merged.get("ssl-mode", ""),
            ca=merged.get("ssl-ca"),
            cert=merged.get("ssl-cert"),
            key=merged.get("ssl-key"),
        )
        tls.check()
        return tls

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
class SourceTLS:
    """TLS to MySQL, as MySQL's client names it: ``REQUIRED`` (encrypted, the certificate not
    checked), ``VERIFY_CA`` (signed by ``ca``), ``VERIFY_IDENTITY`` (and issued for the host);
    ``cert``/``key``: a client certificate."""

    mode: str
    ca: str | None = None
    cert: str | None = None
    key: str | None = None

    def check(self) -> None:
        if self.mode.upper() not in SSL_MODES:
            raise ConfigError(
                f"ssl-mode must be one of {', '.join(SSL_MODES)}, got {self.mode or 'none'!r}"
                + (" (ssl-ca, ssl-cert and ssl-key need an ssl-mode)" if not self.mode else "")
            )
        if self.mode.upper() != "REQUIRED" and not self.ca:
            raise ConfigError(f"ssl-mode={self.mode} needs ssl-ca (the CA certificate file)")
        if bool(self.cert) != bool(self.key):
            raise ConfigError(
                "ssl-cert and ssl-key go together (the client certificate and its key)"
            )
        for name, path in (("ssl-ca", self.ca), ("ssl-cert", self.cert), ("ssl-key", self.key)):
            if path and not Path(path).is_file():
                raise ConfigError(f"{name} file {path} does not exist")

    def context(self) -> ssl.SSLContext:
        """The client's TLS context for this mode."""
        mode = self.mode.upper()
        context = (
            ssl.create_default_context(cafile=self.ca) if self.ca else ssl.create_default_context()
        )
        context.check_hostname = mode == "VERIFY_IDENTITY"
        if mode == "REQUIRED":
            context.verify_mode = ssl.CERT_NONE
        if self.cert and self.key:
            context.load_cert_chain(self.cert, self.key)
        return context


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
