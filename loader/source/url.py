"""Source URLs: the forms accepted, refused without echoing a password, and their parts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit

from loader.errors import ConfigError, redact

if TYPE_CHECKING:
    from loader.source.spec import SourceSpec

_URL_FORMS = (
    "mysql://user@host:3306/database, sqlite:///relative/file.db or sqlite:////absolute/file.db"
)


#: How to write a password that a URL cannot carry as it is.
_PASSWORD_HINT = (
    "a password in the URL must be percent-encoded (/ as %2F, @ as %40, # as %23, ? as %3F, "
    ": as %3A, % as %25), or better, left out and set in NPS_SOURCE_PASSWORD"
)


#: The query parameters a MySQL URL may carry (as MySQL's own client names its options).
TLS_PARAMETERS = ("ssl-mode", "ssl-ca", "ssl-cert", "ssl-key")
SSL_MODES = ("REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY")


def url_tls(url: str) -> dict[str, str]:
    """The TLS parameters of a MySQL URL's query; any other parameter is refused (a parameter
    that is silently ignored would leave a connection unencrypted that its owner asked to
    encrypt). A query that is not plain ``name=value`` pairs is refused without echoing it:
    it may be a password's tail."""
    query = urlsplit(url).query
    if not query:
        return {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        pairs = []
    names = [name for name, _ in pairs]
    if not pairs or any("@" in n or "/" in n or ":" in n for n in names):
        raise ConfigError(
            f"--source must look like mysql://user@host:3306/database?ssl-mode=REQUIRED; "
            f"{_PASSWORD_HINT}"
        )
    unknown = [n for n in names if n not in TLS_PARAMETERS]
    if unknown:
        hint = {n.replace("_", "-").lower() for n in unknown} & set(TLS_PARAMETERS)
        raise ConfigError(
            f"--source has unknown query parameter {', '.join(unknown)} (the loader reads "
            f"{', '.join(TLS_PARAMETERS)})"
            + (f"; did you mean {', '.join(sorted(hint))}?" if hint else "")
        )
    if len(set(names)) != len(names):
        raise ConfigError("--source repeats a query parameter")
    return dict(pairs)


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
                f"mysql://user@host:3306/database); {_PASSWORD_HINT}"
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
