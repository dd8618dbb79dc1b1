"""Source URLs: the forms accepted, refused without echoing a password, and their parts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from loader.errors import ConfigError, redact
from loader.source.tls import PASSWORD_HINT, url_tls

_URL_FORMS = (
    "mysql://user@host:3306/database, sqlite:///relative/file.db or sqlite:////absolute/file.db"
)


def check_url(url: str) -> None:
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
                f"mysql://user@host:3306/database); {PASSWORD_HINT}"
            ) from None
        database = parts.path.strip("/")
        bad_port = port is not None and not 0 < port < 65536
        url_tls(url)  # its query: TLS parameters only
        unsplit = parts.fragment or "@" in parts.path or "@" in database
        if (
            unsplit
            or not parts.hostname
            or not parts.username
            or not database
            or "/" in database
            or bad_port
        ):
            raise ConfigError(
                f"--source must look like mysql://user@host:3306/database; {PASSWORD_HINT}"
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


def sqlite_path(url: str) -> Path:
    """As SQLAlchemy reads it: ``sqlite:///relative/file.db``, ``sqlite:////absolute/file.db``."""
    parts = urlsplit(url)
    return Path(unquote(parts.netloc + parts.path[1:]))


@dataclass(frozen=True)
class MySQLParams:
    host: str
    port: int
    user: str
    password: str | None
    database: str


def mysql_params(url: str, password: str | None) -> MySQLParams:
    """The connection parameters of a MySQL URL; ``password`` (NPS_SOURCE_PASSWORD), when
    given, is used exactly as given, where only a URL's own password is percent-decoded."""
    parts = urlsplit(url)
    database = parts.path.lstrip("/")
    if not parts.hostname or not parts.username or not database:
        raise ConfigError("--source must look like mysql://user@host:3306/database")
    if password is None and parts.password:
        password = unquote(parts.password)
    return MySQLParams(
        host=parts.hostname,
        port=parts.port or 3306,
        user=unquote(parts.username),
        password=password or None,
        database=database,
    )
