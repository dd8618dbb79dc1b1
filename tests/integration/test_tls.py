"""Encrypted in transit, against servers the test starts with a CA and a server certificate it
generates (openssl): a MariaDB whose reader account requires TLS, a PostgreSQL that accepts only
``hostssl`` connections. Each refusal is one line, before anything is written."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from loader.settings import source_spec
from loader.source.mysql import connect_mysql
from tests.support.commands import cli, one_error_line
from tests.support.harness import ROOT, Stack
from tests.support.servers import (
    MariaDB,
    Postgres,
    TlsFiles,
    make_tls_files,
    mariadb_server,
    postgres_server,
)
from tests.support.sources import mysql_table
from tests.support.stacks import new_duckdb_stack

D = dt.date(2021, 9, 16)
ROWS = [(n, "2021-09-16 10:00:00", "2021-09-16 10:00:00", 0, n % 11) for n in range(1, 6)]
DDL = "id bigint primary key, created_at datetime(6), modified datetime(6), deleted boolean, score smallint"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def mariadb_tls(tls: TlsFiles) -> Iterator[MariaDB]:
    with mariadb_server(tls) as server:
        mysql_table(server, "nps", DDL, ROWS)
        yield server


def _run(stack: Stack, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``nps-loader ARGS`` with ``env`` on top of the stack's, its failure returned, not raised."""
    return cli(stack, None, *args, check=False, env=env)


def _source_env(server: MariaDB, query: str = "") -> dict[str, str]:
    return {"NPS_SOURCE_URL": server.url() + query, "NPS_SOURCE_PASSWORD": server.password}


def _one_line(result: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    one_error_line(result, code, text)
    assert "warning" not in result.stderr  # nothing else said either


@pytest.mark.parametrize("driver", ["auto", "pymysql"])
def test_mysql_tls_modes_connect_encrypted_or_refuse_in_one_line(
    driver: str, mariadb_tls: MariaDB, tls: TlsFiles, tmp_path: Path
) -> None:
    stack = new_duckdb_stack(tmp_path / "duckdb")
    env = {**_source_env(mariadb_tls, "?ssl-mode=REQUIRED"), "NPS_SOURCE_DRIVER": driver}
    # the reader account requires TLS: an extract that succeeds was encrypted
    done = _run(stack, env, "extract", "--date", str(D))
    assert done.returncode == 0 and "5 rows" in done.stdout, done.stderr
    # and the server says so for the loader's own session
    spec = source_spec(mariadb_tls.url() + "?ssl-mode=REQUIRED", password=mariadb_tls.password)
    conn = connect_mysql(spec)
    with conn.cursor() as cur:
        cur.execute("show session status like 'Ssl_cipher'")
        assert cur.fetchone()[1]
    conn.close()

    verified = {
        **_source_env(mariadb_tls),
        "NPS_SOURCE_SSL_MODE": "VERIFY_IDENTITY",  # issued for 127.0.0.1
        "NPS_SOURCE_SSL_CA": str(tls.ca),
    }
    assert _run(stack, verified, "extract", "--date", str(D)).returncode == 0

    lake = tmp_path / "duckdb" / "lake"
    extracts = sorted(lake.rglob("_manifest.json"))
    other = {**verified, "NPS_SOURCE_SSL_MODE": "VERIFY_CA", "NPS_SOURCE_SSL_CA": str(tls.other_ca)}
    _one_line(
        _run(stack, other, "extract", "--date", str(D)),
        1,
        "presented a certificate that ssl-mode=VERIFY_CA refuses",
    )
    assert sorted(lake.rglob("_manifest.json")) == extracts  # nothing written


def test_mysql_tls_required_against_a_server_without_tls_is_refused(
    mariadb: MariaDB, tmp_path: Path
) -> None:
    mysql_table(mariadb, "nps_plain", DDL, ROWS)
    stack = new_duckdb_stack(tmp_path / "duckdb")
    env = {**_source_env(mariadb, "?ssl-mode=REQUIRED"), "NPS_SOURCE_TABLE": "nps_plain"}
    _one_line(
        _run(stack, env, "extract", "--date", str(D)),
        1,
        "does not encrypt the connection (ssl-mode=REQUIRED)",
    )
    assert not [
        p for p in (tmp_path / "duckdb" / "lake").rglob("*") if p.is_file()
    ]  # nothing written


def test_connectorx_is_not_used_for_tls_and_says_so(mariadb_tls: MariaDB, tmp_path: Path) -> None:
    stack = new_duckdb_stack(tmp_path / "duckdb")
    env = {**_source_env(mariadb_tls, "?ssl-mode=REQUIRED"), "NPS_SOURCE_DRIVER": "connectorx"}
    _one_line(
        _run(stack, env, "extract", "--date", str(D)),
        2,
        "--driver connectorx cannot connect with ssl-mode",
    )


# --- PostgreSQL: the profile's sslmode / sslrootcert on every connection the loader opens ------


@pytest.fixture(scope="module")
def postgres_tls(tls: TlsFiles) -> Iterator[Postgres]:
    with postgres_server(tls) as server:
        yield server


def _pg_stack(tmp_path: Path, server: Postgres, ssl: dict[str, str]) -> Stack:
    stack = Stack(
        target="postgres",
        workdir=tmp_path,
        env=server.env("analytics"),
        lake=str(tmp_path / "lake"),
    )
    profile = yaml.safe_load((ROOT / "profiles.yml.example").read_text())
    profile["nps_warehouse"]["outputs"]["postgres"].update(ssl)
    folder = tmp_path / "profiles"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profiles.yml").write_text(yaml.safe_dump(profile))
    return stack


def test_postgres_loads_over_verified_tls_and_refuses_otherwise(
    postgres_tls: Postgres, mariadb_tls: MariaDB, tls: TlsFiles, tmp_path: Path
) -> None:
    source = _source_env(mariadb_tls, "?ssl-mode=REQUIRED")
    good = _pg_stack(
        tmp_path / "good", postgres_tls, {"sslmode": "verify-full", "sslrootcert": str(tls.ca)}
    )
    # run = the psycopg2 connection (load log, DDL) and the ADBC one (the binary COPY)
    ran = _run(good, source, "run", "--date", str(D))
    assert ran.returncode == 0 and "loaded 2021-09-16: 5 rows" in ran.stdout, ran.stderr
    assert good.query("select count(*) from raw.nps") == [(5,)]

    for name, ssl, text in (
        ("plain", {"sslmode": "disable"}, "no pg_hba.conf entry"),
        (
            "other",
            {"sslmode": "verify-full", "sslrootcert": str(tls.other_ca)},
            "certificate verify failed",
        ),
    ):
        stack = _pg_stack(tmp_path / name, postgres_tls, ssl)
        _one_line(_run(stack, source, "run", "--date", str(D)), 1, text)
