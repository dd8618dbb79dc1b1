"""Ambiguous or broken input is refused or flagged, on every path a user takes.

Each test re-creates one way a new user or an adversary got a wrong or silent result (issue
"No silent wrong answers"), through the real CLI, dbt and servers.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from loader.errors import SourceError
from tests.support.commands import cli, dbt_process, one_error_line
from tests.support.harness import ROOT, Stack, environ
from tests.support.servers import MariaDB
from tests.support.sources import MySQLSource, mysql_table, sqlite_source

D = dt.date(2021, 9, 16)
TS = "2021-09-16 10:00:00.000000"


# --- 1, 2, 6: the README's dbt workflow on a fresh warehouse ---------------------------------


@pytest.mark.slow
def test_readme_workflow_works_in_order_on_a_fresh_warehouse(
    duckdb_stack: Stack, tmp_path: Path
) -> None:
    source = sqlite_source(tmp_path / "src.db", [(1, TS, TS, 0, 9), (2, TS, TS, 0, 3)])
    # 6: before anything was loaded, dbt says to run the loader, in one line
    fresh = dbt_process(duckdb_stack, "run", "--vars", f"{{run_date: {D}}}")
    assert fresh.returncode != 0
    assert "load a day first (nps-loader run --date D)" in fresh.stdout
    # ... naming the target and the DuckDB file it opened (a forgotten `source demo.env`)
    duckdb_file = duckdb_stack.env["NPS_DUCKDB_PATH"]
    assert f"does not exist yet in target dev (DuckDB file {duckdb_file})" in fresh.stdout
    cli(duckdb_stack, source, "run", "--date", str(D))
    # 6: verify before dbt has ever run: one line, saying what to do
    result = cli(duckdb_stack, source, "verify", "--date", str(D), check=False)
    one_error_line(result, 1, "run dbt on this warehouse first")
    # 1: the commands its users run, in that order, with no `dbt seed`
    for args in (["run", "--vars", f"{{run_date: {D}}}"], ["run", "--full-refresh"], ["test"]):
        done = dbt_process(duckdb_stack, *args)
        assert done.returncode == 0, f"dbt {' '.join(args)}:\n{done.stdout[-3000:]}"
    assert duckdb_stack.query("select responses, nps from analytics.nps_summary_daily") == [(2, 0)]


@pytest.mark.slow
def test_unknown_vars_are_refused_and_an_empty_batch_is_announced(
    duckdb_stack: Stack, tmp_path: Path
) -> None:
    source = sqlite_source(tmp_path / "src.db", [(1, TS, TS, 0, 9)])
    cli(duckdb_stack, source, "run", "--date", str(D))
    assert dbt_process(duckdb_stack, "run", "--vars", f"{{run_date: {D}}}").returncode == 0
    before = duckdb_stack.query("select * from analytics.int_nps_responses_current")
    for typo in (f"{{run_dat: {D}}}", f"{{run_date={D}}}"):
        result = dbt_process(duckdb_stack, "run", "--vars", typo)
        assert result.returncode != 0, typo
        assert "unknown var 'run_dat" in result.stdout, result.stdout[-2000:]
    assert duckdb_stack.query("select * from analytics.int_nps_responses_current") == before
    # a run_date that matched no loaded day still succeeds, but says so in one visible line
    empty = dbt_process(duckdb_stack, "run", "--vars", "{run_date: 2021-09-20}")
    assert empty.returncode == 0, empty.stdout[-2000:]
    warned = [line for line in empty.stdout.splitlines() if "no raw rows were loaded" in line]
    assert len(warned) == 1 and "2021-09-20" in warned[0], empty.stdout[-2000:]


# --- 3, 4, 5, 7, 8: the loader's command line -------------------------------------------------


def test_a_day_that_has_not_ended_is_refused_unless_allowed(
    duckdb_stack: Stack, tmp_path: Path
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    stamp = f"{today} 00:00:00.000000"
    source = sqlite_source(tmp_path / "src.db", [(1, stamp, stamp, 0, 9)])
    for day in (today, today + dt.timedelta(days=3)):
        result = cli(duckdb_stack, source, "run", "--date", str(day), check=False)
        one_error_line(result, 2, f"{day} has not ended yet in UTC")
    result = cli(
        duckdb_stack, source, "backfill", "--start", str(D), "--end", str(today), check=False
    )
    one_error_line(result, 2, "has not ended yet")
    assert not Path(duckdb_stack.env["NPS_DUCKDB_PATH"]).exists(), "nothing may be recorded"
    assert not Path(duckdb_stack.lake).exists()
    cli(duckdb_stack, source, "run", "--date", str(today), "--allow-open-day")
    assert duckdb_stack.query("select count(*) from raw.nps_loads") == [(1,)]


def test_malformed_source_urls_are_refused(duckdb_stack: Stack, tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    sqlite_source(tmp_path / "demo" / "source.db", [(1, TS, TS, 0, 9)])
    cases = [
        ("sqlite://demo/source.db", "needs three slashes"),
        ("sqlite://", "needs three slashes"),
        ("mysql://reader@db:port/prod", "not a valid URL"),
        ("mysql://db:3306/prod", "must look like mysql://user@host:3306/database"),
        ("mysql://reader@db:3306/", "must look like mysql://user@host:3306/database"),
    ]
    for url, message in cases:
        result = subprocess.run(
            [sys.executable, "-m", "loader", "run", "--date", str(D), "--source", url],
            cwd=tmp_path,
            env=duckdb_stack.loader_env(None),
            capture_output=True,
            text=True,
        )
        one_error_line(result, 2, message)
    assert not (tmp_path / "demosource.db").exists()


def test_an_explicit_profiles_dir_without_profiles_yml_is_refused(
    duckdb_stack: Stack, tmp_path: Path
) -> None:
    source = sqlite_source(tmp_path / "src.db", [(1, TS, TS, 0, 9)])
    empty = tmp_path / "no-profiles"
    empty.mkdir()
    shutil.copy(ROOT / "profiles.yml.example", tmp_path / "profiles.yml")  # a decoy in cwd
    for how in ("flag", "env"):
        env = {**duckdb_stack.loader_env(source), "DBT_PROFILES_DIR": str(empty)}
        args = ["run", "--date", str(D)]
        if how == "flag":
            env.pop("DBT_PROFILES_DIR")
            args += ["--profiles-dir", str(empty)]
        result = subprocess.run(
            [sys.executable, "-m", "loader", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
        )
        one_error_line(
            result,
            2,
            f"no profiles.yml in {empty} (named by --profiles-dir or DBT_PROFILES_DIR)",
        )
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_duckdb_open_errors_name_their_cause(duckdb_stack: Stack, tmp_path: Path) -> None:
    source = sqlite_source(tmp_path / "src.db", [(1, TS, TS, 0, 9)])
    duckdb_stack.env["NPS_DUCKDB_PATH"] = str(tmp_path / "missing" / "warehouse.duckdb")
    started = time.monotonic()
    result = cli(duckdb_stack, source, "run", "--date", str(D), check=False)
    line = one_error_line(result, 1, f"folder {tmp_path / 'missing'} does not exist")
    assert "another process" not in line
    assert time.monotonic() - started < 30


HOLD_LOCK = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _hold_lock(path: str, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, path, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


@pytest.mark.slow
def test_the_loader_locks_duckdb_only_to_load_and_dbt_waits_for_it(
    duckdb_stack: Stack, tmp_path: Path
) -> None:
    source = sqlite_source(tmp_path / "src.db", [(1, TS, TS, 0, 9)])
    cli(duckdb_stack, source, "run", "--date", str(D))
    assert dbt_process(duckdb_stack, "run").returncode == 0
    path = duckdb_stack.env["NPS_DUCKDB_PATH"]
    # another writer holds the file: the extract still happens, only the load waits (and here
    # gives up after 1 s, in one line)
    holder = _hold_lock(path, 30)
    try:
        duckdb_stack.env["NPS_DUCKDB_LOCK_TIMEOUT"] = "1"
        result = cli(duckdb_stack, source, "run", "--date", "2021-09-17", check=False)
    finally:
        holder.kill()
        holder.wait()
        duckdb_stack.env.pop("NPS_DUCKDB_LOCK_TIMEOUT")
    one_error_line(result, 1, "another process (a dbt run or another loader) holds it")
    assert (Path(duckdb_stack.lake) / "nps/run_date=2021-09-17/_manifest.json").exists()
    # dbt started while a loader holds the file waits for it (the dev profile's retries)
    holder = _hold_lock(path, 3)
    try:
        waited = dbt_process(duckdb_stack, "run")
    finally:
        holder.wait()
    assert waited.returncode == 0, waited.stdout[-2000:]
    assert "Traceback" not in waited.stdout + waited.stderr


# --- 9: a lake on another filesystem ----------------------------------------------------------


def test_a_local_lake_on_another_filesystem_works_and_failures_leave_nothing(
    duckdb_stack: Stack, tmp_path: Path
) -> None:
    shm = Path("/dev/shm")
    lake = Path(tempfile.mkdtemp(prefix="nps-lake-", dir=shm if shm.is_dir() else None))
    try:
        if shm.is_dir():  # the point of the test: a device other than the temp folder's
            assert os.stat(lake).st_dev != os.stat(tempfile.gettempdir()).st_dev
        duckdb_stack.lake = str(lake)
        good = sqlite_source(tmp_path / "src.db", [(1, TS, TS, 0, 9)])
        assert duckdb_stack.run_day(good, D).rows == 1
        bad = sqlite_source(
            tmp_path / "bad.db",
            [(1, TS, TS, 0, 9), (None, TS, TS, 0, 9), (None, TS, "2021-09-17 08:00:00", 0, 9)],
            ddl="create table nps (id integer, created_at text, modified text, deleted integer, score integer)",
        )
        # each fails while its parts are being written: an extract of D exists, one of D+1 not
        for day in (D, D + dt.timedelta(days=1)):
            with pytest.raises(SourceError, match="null id"):
                duckdb_stack.run_day(bad, day)
        leftovers = sorted(str(p.relative_to(lake)) for p in lake.rglob("*") if p.is_dir())
        assert leftovers == [
            "nps",
            "nps/run_date=2021-09-16",
            *[p for p in leftovers if p.startswith("nps/run_date=2021-09-16/extract_id=")],
        ]
        assert len(leftovers) == 3, leftovers
        assert not list(lake.rglob(".tmp-*"))
    finally:
        shutil.rmtree(lake, ignore_errors=True)


# --- 10, 11: source data that breaks the assumptions -------------------------------------------


def test_duplicate_ids_in_one_snapshot_are_refused_naming_them(
    duckdb_stack: Stack, tmp_path: Path, mariadb: MariaDB
) -> None:
    rows: list[tuple[object, ...]] = [(7, TS, TS, 0, 9), (7, TS, TS, 0, 2), (8, TS, TS, 0, 5)]
    rows += [(9, TS, TS, 0, 1), (9, TS, TS, 0, 10)]
    no_pk = "create table nps (id integer, created_at text, modified text, deleted integer, score integer)"
    sqlite = sqlite_source(tmp_path / "src.db", rows, ddl=no_pk)
    mysql = MySQLSource(mariadb, "nps_no_pk")
    mysql_table(
        mariadb,
        "nps_no_pk",
        "id bigint, created_at datetime(6), modified datetime(6), deleted boolean, score smallint",
        rows,
    )
    for source in (sqlite, mysql):
        result = cli(duckdb_stack, source, "run", "--date", str(D), check=False)
        one_error_line(result, 1, "has more than one row for id 7, 9 in one snapshot")
    assert not Path(duckdb_stack.env["NPS_DUCKDB_PATH"]).exists()
    assert not list(Path(duckdb_stack.lake).rglob("*.parquet"))


@pytest.mark.slow
def test_an_update_that_does_not_bump_modified_is_flagged_by_dbt_test(
    duckdb_stack: Stack, tmp_path: Path
) -> None:
    late = "2021-09-16 23:30:00.000000"  # inside the next day's 1h lookback too
    path = tmp_path / "src.db"
    source = sqlite_source(path, [(1, late, late, 0, 9), (2, TS, TS, 0, 8)])
    duckdb_stack.run_day(source, D)
    conn = sqlite3.connect(path)
    conn.execute("update nps set score = 3 where id = 1")  # modified not bumped
    conn.commit()
    conn.close()
    duckdb_stack.run_day(source, dt.date(2021, 9, 17))
    duckdb_stack.dbt("run")
    result = duckdb_stack.dbt("test", "--select", "source:nps_raw", expect_success=False)
    failed = {r.node.name: r.failures for r in result.result.results if r.status == "fail"}
    assert any(name.startswith("source_one_content_per_version") for name in failed), failed
    assert list(failed.values()) == [1]


def test_a_cursor_column_that_is_not_a_time_is_refused(
    duckdb_stack: Stack, mariadb: MariaDB
) -> None:
    mysql_table(
        mariadb,
        "nps_text_cursor",
        "id bigint primary key, created_at datetime(6), modified varchar(32), deleted boolean, "
        "score smallint",
        [(1, "2021-09-16 10:00:00", "2021-9-16 10:00:00", 0, 9)],
    )
    source = MySQLSource(mariadb, "nps_text_cursor")
    result = cli(duckdb_stack, source, "run", "--date", str(D), check=False)
    one_error_line(
        result, 1, "nps_text_cursor.modified has type varchar, which cannot be read as modified"
    )
    assert "the cursor must be a date/time type" in result.stderr


def test_a_password_in_the_source_url_warns(duckdb_stack: Stack, mariadb: MariaDB) -> None:
    source = MySQLSource(mariadb, "nps_absent")
    source.password = None
    url = f"mysql://nps_reader:{mariadb.password}@127.0.0.1:{mariadb.port}/prod"
    with environ({}):
        result = cli(duckdb_stack, source, "run", "--date", str(D), "--source", url, check=False)
    assert "nps-loader: warning: the source URL carries a password" in result.stderr
    assert "ps" in result.stderr and mariadb.password not in result.stderr


def test_a_lake_url_ending_in_nps_warns(duckdb_stack: Stack, tmp_path: Path) -> None:
    source = sqlite_source(tmp_path / "src.db", [(1, TS, TS, 0, 9)])
    duckdb_stack.lake = str(tmp_path / "my-lake" / "nps")
    result = cli(duckdb_stack, source, "extract", "--date", str(D))
    assert "ends in /nps" in result.stderr and ".../nps/nps/" in result.stderr
