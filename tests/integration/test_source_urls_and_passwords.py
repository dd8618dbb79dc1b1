"""Source URLs and passwords: the environment's password is used as given, and no part of a
password reaches a message, however the URL mangles it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.support.commands import cli, one_error_line
from tests.support.harness import Stack
from tests.support.servers import MariaDB
from tests.support.sources import MySQLSource, mysql_table, sqlite_source

D = dt.date(2021, 9, 16)
TS = "2021-09-16 10:00:00"
#: every character a URL splits on, unencoded; the fragments are what must never be printed
PASSWORD = "S3cret/Pa55@Hunter22:x9y#Zq?7"
FRAGMENTS = ["S3cret", "Pa55", "Hunter22", "x9y", "Zq"]


@pytest.mark.parametrize(
    "url",
    [
        f"mysql://reader:{PASSWORD}@127.0.0.1:3306/prod",
        "mysql://reader:S3cret/Pa55@127.0.0.1:3306/prod",
        "mysql://reader:Hunter22#x9y@127.0.0.1/prod",
        "mysql://reader:S3cret?Pa55@127.0.0.1/prod",
    ],
)
def test_an_unencoded_password_is_never_echoed(duckdb_stack: Stack, url: str) -> None:
    result = cli(duckdb_stack, None, "run", "--date", str(D), "--source", url, check=False)
    line = one_error_line(result, 2, "must be percent-encoded")
    assert "NPS_SOURCE_PASSWORD" in line
    leaked = [f for f in FRAGMENTS if f in result.stdout + result.stderr]
    assert not leaked, result.stderr


def test_a_sqlite_url_with_one_slash_is_refused(duckdb_stack: Stack, tmp_path: Path) -> None:
    sqlite_source(tmp_path / "source.db", [(1, TS, TS, 0, 9)])
    url = f"sqlite:{tmp_path}/source.db"  # sqlite:/tmp/... : one slash
    result = cli(duckdb_stack, None, "extract", "--date", str(D), "--source", url, check=False)
    one_error_line(result, 2, "needs three slashes")


def test_the_environment_password_is_used_as_given(duckdb_stack: Stack, mariadb: MariaDB) -> None:
    password = "pw%41xyz"  # %41 would decode to "A": it must not
    conn = mariadb.admin()
    try:
        with conn.cursor() as cur:
            cur.execute("drop user if exists 'pct'@'%'")
            cur.execute(f"create user 'pct'@'%' identified by '{password}'")
            cur.execute("grant select on prod.* to 'pct'@'%'")
    finally:
        conn.close()
    mysql_table(
        mariadb,
        "nps_pct",
        "id bigint primary key, created_at datetime(6), modified datetime(6), deleted boolean, "
        "score smallint",
        [(1, TS, TS, 0, 9)],
    )
    source = MySQLSource(mariadb, "nps_pct")
    source.url = f"mysql://pct@127.0.0.1:{mariadb.port}/prod"
    source.password = password
    extracted = cli(duckdb_stack, source, "extract", "--date", str(D), check=False)
    assert extracted.returncode == 0, extracted.stderr
    assert "1 rows" in extracted.stdout
    # in a URL the same password is written percent-encoded, and decoded once
    source.password = None
    encoded = f"mysql://pct:pw%2541xyz@127.0.0.1:{mariadb.port}/prod"
    in_url = cli(duckdb_stack, source, "extract", "--date", str(D), "--source", encoded)
    assert "1 rows" in in_url.stdout and "pw%41xyz" not in in_url.stderr
