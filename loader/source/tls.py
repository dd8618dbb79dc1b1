"""TLS to a MySQL source: the parameters (as MySQL's own client names them), given in the URL's
query or as options, merged and checked before anything connects."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from loader.errors import ConfigError

#: How to write a password that a URL cannot carry as it is.
PASSWORD_HINT = (
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
            f"{PASSWORD_HINT}"
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


def source_tls(url: str, options: dict[str, str | None], kind: str) -> SourceTLS | None:
    """The TLS of a source: ``options`` (--source-ssl-*, by parameter name) and the URL's query
    merged (a parameter given in both must agree), checked; None when neither gives any."""
    merged = {k: v for k, v in options.items() if v}
    for name, value in url_tls(url).items():
        if merged.setdefault(name, value) != value:
            env = "NPS_SOURCE_" + name.replace("-", "_").upper()
            raise ConfigError(
                f"{name} is {merged[name]!r} in --source-{name} / {env} but {value!r} in "
                "the --source URL: give it once"
            )
    if not merged:
        return None
    if kind != "mysql":
        raise ConfigError(f"{', '.join(TLS_PARAMETERS)} apply to a MySQL source")
    tls = SourceTLS(
        mode=merged.get("ssl-mode", ""),
        ca=merged.get("ssl-ca"),
        cert=merged.get("ssl-cert"),
        key=merged.get("ssl-key"),
    )
    tls.check()
    return tls


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
