"""TLS settings of a MySQL source: the URL's query and NPS_SOURCE_SSL_* merged and checked
before anything connects; an unknown query parameter is refused, never ignored."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from loader.errors import ConfigError
from loader.settings import source_spec

URL = "mysql://reader@db.internal:3306/prod"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "?ssl_mode=REQUIRED",
            "unknown query parameter ssl_mode (the loader reads ssl-mode, ssl-ca, ssl-cert, ssl-key); did you mean ssl-mode?",
        ),
        ("?sslmode=require", "unknown query parameter sslmode"),
        ("?ssl-mode=REQUIRED&charset=latin1", "unknown query parameter charset"),
        ("?ssl-mode=PREFERRED", "ssl-mode must be one of REQUIRED, VERIFY_CA, VERIFY_IDENTITY"),
        ("?ssl-mode=VERIFY_CA", "ssl-mode=VERIFY_CA needs ssl-ca"),
        ("?ssl-ca=/nonexistent/ca.pem", "need an ssl-mode"),
        ("?ssl-mode=REQUIRED&ssl-mode=REQUIRED", "repeats a query parameter"),
    ],
)
def test_bad_tls_settings_are_refused_before_connecting(query: str, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        source_spec(URL + query)
    assert message in str(refused.value)


def test_a_password_that_made_a_query_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as refused:
        source_spec("mysql://reader:pa?ss@word@db:3306/prod")
    assert "ss@word" not in str(refused.value) and "percent-encoded" in str(refused.value)


def test_url_and_variables_merge_and_must_agree(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not parsed until a connection is made")
    spec = source_spec(URL + "?ssl-mode=VERIFY_IDENTITY", source_ssl_ca=str(ca))
    assert spec.tls is not None and (spec.tls.mode, spec.tls.ca) == ("VERIFY_IDENTITY", str(ca))
    with pytest.raises(ConfigError, match="ssl-mode is 'REQUIRED' in --source-ssl-mode"):
        source_spec(URL + "?ssl-mode=VERIFY_CA&ssl-ca=" + str(ca), source_ssl_mode="REQUIRED")
    with pytest.raises(ConfigError, match=r"ssl-ca file /missing\.pem does not exist"):
        source_spec(URL, source_ssl_mode="VERIFY_CA", source_ssl_ca="/missing.pem")
    with pytest.raises(ConfigError, match="ssl-cert and ssl-key go together"):
        source_spec(URL, source_ssl_mode="REQUIRED", source_ssl_cert=str(ca))
    with pytest.raises(ConfigError, match="apply to a MySQL source"):
        source_spec("sqlite:///demo/source.db", source_ssl_mode="REQUIRED")
    assert source_spec(URL).tls is None


def test_each_mode_checks_what_mysql_s_client_checks() -> None:
    required = source_spec(URL + "?ssl-mode=REQUIRED").tls
    assert required is not None
    context = required.context()
    assert context.verify_mode == ssl.CERT_NONE and not context.check_hostname
