"""`nps-loader verify` accounts for every source row of a day, or says which it cannot.

A row whose cursor is NULL or in the future is read by no day's extract: the loader warns about
it when it extracts, and verify fails on its day instead of saying "match". A day that differs
is reported in one place with what to run next, and running it repairs the day.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from loader.settings import source_spec
from loader.source import RowFilter
from loader.source.sql import select_sql
from tests.support.commands import cli, dbt_cli
from tests.support.harness import Stack
from tests.support.servers import MariaDB
from tests.support.sources import MySQLSource, TestSource, mysql_table, sqlite_source

D = dt.date(2021, 9, 16)
TS = "2021-09-16 10:00:00.000000"
FUTURE = "2099-01-01 00:00:00.000000"
# a promoter counted as usual, a detractor whose cursor is NULL, one whose cursor is in 2099
ROWS: list[tuple[object, ...]] = [(1, TS, TS, 0, 9), (2, TS, None, 0, 0), (3, TS, FUTURE, 0, 0)]


def _source(kind: str, tmp_path: Path, mariadb: MariaDB | None) -> TestSource:
    if kind == "sqlite":
        return sqlite_source(tmp_path / "src.db", ROWS)
    assert mariadb is not None
    mysql_table(
        mariadb,
        "nps_odd_cursors",
        "id bigint primary key, created_at datetime(6), modified datetime(6) null, "
        "deleted boolean, score smallint",
        ROWS,
    )
    return MySQLSource(mariadb, "nps_odd_cursors")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "mysql-connectorx", "mysql-pymysql"])
def test_rows_no_extract_reads_are_announced_and_fail_verify(
    kind: str, duckdb_stack: Stack, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    mariadb = request.getfixturevalue("mariadb") if kind != "sqlite" else None
    source = _source(kind, tmp_path, mariadb)
    driver = ["--driver", kind.split("-")[1]] if kind != "sqlite" else []
    loaded = cli(duckdb_stack, source, "run", "--date", str(D), *driver)
    warnings = [line for line in loaded.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1, loaded.stderr
    assert "2 row(s) that no day's extract reads" in warnings[0]
    assert "1 with modified NULL and 1 with modified in the future; id 2, 3" in warnings[0]

    dbt_cli(duckdb_stack, "run")
    assert duckdb_stack.query("select nps from analytics.nps_summary_daily") == [(100,)]
    result = cli(duckdb_stack, source, "verify", "--date", str(D), *driver, check=False)
    assert result.returncode == 1, result.stdout
    assert "1 of 1 day differ" in result.stdout
    assert (
        "2021-09-16: 2 source rows cannot be accounted for (1 with a NULL cursor and 1 with a "
        "cursor in the future; id 2, 3)" in result.stdout
    )
    as_json = cli(duckdb_stack, source, "verify", "--date", str(D), "--json", check=False)
    body = json.loads(as_json.stdout)
    assert body["ok"] is False and body["mismatches"] == 1 and "next" in body


@pytest.mark.slow
def test_a_failed_verify_names_the_days_and_its_advice_repairs_them(
    duckdb_stack: Stack, tmp_path: Path
) -> None:
    d2 = D + dt.timedelta(days=1)
    noon, eleven = "2021-09-17 12:00:00.000000", "2021-09-17 11:00:00.000000"
    path = tmp_path / "src.db"
    source = sqlite_source(
        path, [(1, TS, TS, 0, 9), (2, TS, TS, 0, 7), (3, "2021-09-17 10:00:00.000000", noon, 0, 9)]
    )
    cli(duckdb_stack, source, "backfill", "--start", str(D), "--end", str(d2))
    dbt_cli(duckdb_stack, "run")
    assert cli(duckdb_stack, source, "verify", "--start", str(D), "--end", str(d2)).returncode == 0

    conn = sqlite3.connect(path)
    conn.execute("delete from nps where id = 1")  # a hard delete
    conn.execute("update nps set modified = ?, score = 0 where id = 3", (eleven,))  # backwards
    conn.commit()
    conn.close()
    bad = cli(duckdb_stack, source, "verify", "--start", str(D), "--end", str(d2), check=False)
    assert bad.returncode == 1 and not bad.stderr, bad.stderr
    lines = bad.stdout.splitlines()
    assert lines[0] == "verify: 2 of 2 days differ"
    assert lines[1].startswith("2021-09-16: source has promoters/passives/detractors 0/1/0")
    assert lines[2].startswith("2021-09-17: source has promoters/passives/detractors 0/0/1")
    advice = lines[3]
    assert advice.startswith(
        "next: nps-loader reconcile --start 2021-09-16 --end 2021-09-17 names the ids behind it"
    )
    assert "add --apply to correct them, then dbt run" in advice

    # the advice, followed as written, repairs both days: no backfill, no full refresh
    dry = cli(duckdb_stack, source, "reconcile", "--start", str(D), "--end", str(d2))
    assert "2021-09-16: deleted from the source: 1" in dry.stdout, dry.stdout
    assert "2021-09-17: differ: 3 (history rewritten (cursor moved backwards))" in dry.stdout
    assert "--apply would refuse: it would delete 1 of the 3 responses" in dry.stdout
    apply = ("--apply", "--max-delete-fraction", "0.5")  # 1 of 3 is a third of this tiny range
    cli(duckdb_stack, source, "reconcile", "--start", str(D), "--end", str(d2), *apply)
    dbt_cli(duckdb_stack, "run")
    fixed = cli(duckdb_stack, source, "verify", "--start", str(D), "--end", str(d2))
    assert "2 days match the source" in fixed.stdout


def test_the_created_at_index_serves_verify(mariadb: MariaDB) -> None:
    """The index the docs tell operators to create is the one verify's read uses."""
    mysql_table(
        mariadb,
        "nps_indexed",
        "id bigint primary key, created_at datetime(6), modified datetime(6), deleted boolean, "
        "score smallint, key nps_modified (modified), key nps_created_at (created_at)",
        [
            (i, f"2021-09-{1 + i % 28:02d} 10:00:00", "2021-09-30 10:00:00", 0, 9)
            for i in range(2000)
        ],
    )
    spec = source_spec(MySQLSource(mariadb, "nps_indexed").url, source_table="nps_indexed")
    sql = select_sql(
        spec, RowFilter("created_at", dt.datetime(2021, 9, 16), dt.datetime(2021, 9, 17)), "`", "%s"
    )
    conn = mariadb.admin()
    try:
        with conn.cursor() as cur:
            cur.execute("analyze table nps_indexed")
            cur.execute(f"explain {sql}", ("2021-09-16", "2021-09-17"))
            plan = cur.fetchone()
            names = [c[0] for c in cur.description]
    finally:
        conn.close()
    row = dict(zip(names, plan, strict=True))
    assert row["type"] == "range" and row["key"] == "nps_created_at", row
