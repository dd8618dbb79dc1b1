"""Every failure a user or an adversary can cause ends in one line and a clean exit code, and a
failed extract leaves nothing behind in the lake (exit 2: bad input; 1: a failure)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.commands import cli, one_error_line
from tests.support.faults import Faults, faulty_s3
from tests.support.harness import ROOT, Stack, environ
from tests.support.servers import IN_CI, IS_ROOT, MariaDB
from tests.support.sources import MySQLSource, SqliteSource, mysql_table, sqlite_source
from tests.support.stacks import make_factory

D = dt.date(2021, 9, 16)
TS = "2021-09-16 10:00:00.000000"


def _big_source(path: Path, rows: int) -> SqliteSource:
    return sqlite_source(
        path,
        (
            (i, f"2021-09-16 {i % 24:02d}:{i % 60:02d}:00.{i % 999999:06d}", TS, 0, i % 11)
            for i in range(rows)
        ),
    )


@contextlib.contextmanager
def tiny_disk(path: Path, size: str) -> Iterator[Path]:
    """A real filesystem of ``size`` (tmpfs): writing past it fails with ENOSPC."""
    if not IS_ROOT:
        if IN_CI:
            pytest.fail("CI runs as root: a tmpfs could not be mounted")
        pytest.skip("mounting a tmpfs needs root")
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def _dirs(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# --- bad input: exit 2 -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--date", "9999-12-31"],
        ["run", "--date", "0001-01-01"],
        ["extract", "--date", "9999-12-31"],
        ["backfill", "--start", "9998-12-30", "--end", "9999-12-31"],
        ["verify", "--date", "0001-01-01"],
        ["run", "--date", str(D), "--lookback", "999999999d"],
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_bad_input(
    duckdb_stack: Stack, tmp_path: Path, args: list[str]
) -> None:
    source = sqlite_source(tmp_path / "src.db", [(1, TS, TS, 0, 9)])
    result = cli(duckdb_stack, source, *args, check=False)
    one_error_line(result, 2, "must be")
    assert not Path(duckdb_stack.lake).exists()


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ("raw\n", "is not a plain identifier"),
        ("order", "is a reserved word"),
        ("user", "is a reserved word"),
        ("Raw2", "use 'raw2'"),
    ],
)
def test_a_raw_schema_no_target_can_take_unquoted_is_refused_first(
    duckdb_stack: Stack, tmp_path: Path, schema: str, message: str
) -> None:
    source = sqlite_source(tmp_path / "src.db", [(1, TS, TS, 0, 9)])
    for command in (
        ["run", "--date", str(D)],
        ["load", "--date", str(D)],
        ["verify", "--date", str(D)],
    ):
        result = cli(duckdb_stack, source, *command, "--raw-schema", schema, check=False)
        one_error_line(result, 2, message)
    assert not Path(duckdb_stack.lake).exists()
    assert not Path(duckdb_stack.env["NPS_DUCKDB_PATH"]).exists()


# --- a full disk, a broken connection to S3: exit 1, one line naming the path ----------------


def test_a_full_disk_under_the_lake_names_the_path_and_leaves_nothing(
    duckdb_stack: Stack, tmp_path: Path
) -> None:
    source = _big_source(tmp_path / "src.db", 150_000)
    with tiny_disk(tmp_path / "disk", "512k") as disk:
        duckdb_stack.lake = str(disk / "lake")
        result = cli(duckdb_stack, source, "run", "--date", str(D), "--json", check=False)
        line = one_error_line(result, 1, "No space left on device")
        assert f"cannot write {disk}/lake/nps/run_date=2021-09-16/" in line
        assert json.loads(result.stdout)["ok"] is False
        # no extract, no staging folder, no day folder: only the lake's own empty nps/ folder
        assert _dirs(disk) == ["lake", "lake/nps"]
    assert not Path(duckdb_stack.env["NPS_DUCKDB_PATH"]).exists()


def test_a_full_temporary_folder_fails_the_load_in_one_line_and_changes_nothing(
    duckdb_stack: Stack, tmp_path: Path
) -> None:
    source = _big_source(tmp_path / "src.db", 150_000)
    cli(duckdb_stack, source, "run", "--date", str(D))
    before = duckdb_stack.query("select _extract_id, count(*) from raw.nps group by 1")
    cli(duckdb_stack, source, "extract", "--date", str(D))
    with tiny_disk(tmp_path / "tmp", "256k") as tmp, environ({"TMPDIR": str(tmp)}):
        result = cli(duckdb_stack, source, "load", "--date", str(D), check=False)
    line = one_error_line(result, 1, "No space left on device")
    assert f"{tmp}/nps-load-" in line and "TMPDIR" in line
    assert duckdb_stack.query("select _extract_id, count(*) from raw.nps group by 1") == before


@contextlib.contextmanager
def _s3_stack_behind_a_proxy(
    request: pytest.FixtureRequest, tmp_path: Path, faults: Faults
) -> Iterator[Stack]:
    stack, _ = make_factory("duckdb-sqlite-s3", request)(tmp_path)
    with faulty_s3(stack.env["AWS_ENDPOINT_URL"], faults) as endpoint:
        # one attempt per request: the fault is the answer, not something retries hide
        stack.env.update({"AWS_ENDPOINT_URL": endpoint, "AWS_MAX_ATTEMPTS": "1"})
        yield stack


def _keys(stack: Stack) -> list[str]:
    import boto3

    bucket = stack.lake[5:].split("/", 1)[0]
    with environ(stack.full_env):
        listing = boto3.client("s3").list_objects_v2(Bucket=bucket)
    return sorted(obj["Key"] for obj in listing.get("Contents", []))


@pytest.mark.parametrize("dies_at", ["part-00000.parquet", "_manifest.json"])
def test_an_s3_endpoint_dying_mid_extract_leaves_no_object(
    request: pytest.FixtureRequest, tmp_path: Path, dies_at: str
) -> None:
    faults = Faults(rules=[("PUT", dies_at, "drop")])
    with _s3_stack_behind_a_proxy(request, tmp_path, faults) as stack:
        source = sqlite_source(tmp_path / "src.db", [(1, TS, TS, 0, 9)])
        result = cli(stack, source, "extract", "--date", str(D), check=False)
        line = one_error_line(result, 1, "S3 write of s3://")
        assert dies_at in line
        assert any(method == "PUT" and "copy.manifest" in path for method, path in faults.seen)
        faults.rules.clear()
        assert _keys(stack) == []


def test_an_s3_read_that_breaks_off_mid_load_names_the_key(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    faults = Faults()
    with _s3_stack_behind_a_proxy(request, tmp_path, faults) as stack:
        source = _big_source(tmp_path / "src.db", 20_000)
        cli(stack, source, "extract", "--date", str(D))
        faults.rules.append(("GET", "part-00000.parquet", "truncate"))
        result = cli(stack, source, "load", "--date", str(D), "--json", check=False)
        line = one_error_line(result, 1, "failed mid-transfer")
        assert "/part-00000.parquet" in line and "s3://" in line
        assert not Path(stack.env["NPS_DUCKDB_PATH"]).exists() or stack.query(
            "select count(*) from raw.nps"
        ) == [(0,)]


def test_a_manifest_that_cannot_be_written_leaves_no_published_extract(
    duckdb_stack: Stack, tmp_path: Path
) -> None:
    source = sqlite_source(tmp_path / "src.db", [(1, TS, TS, 0, 9)])
    day = Path(duckdb_stack.lake) / "nps" / f"run_date={D}"
    blocker = day / "_manifest.json"  # a folder where the manifest goes: its write fails
    blocker.mkdir(parents=True)
    (blocker / "x").write_text("x")
    for _ in range(2):  # and again: no folder per retry
        result = cli(duckdb_stack, source, "extract", "--date", str(D), check=False)
        one_error_line(result, 1, f"cannot write {blocker}")
    assert _dirs(day) == ["_manifest.json", "_manifest.json/x"]
    assert os.listdir(day) == ["_manifest.json"]


# --- the source breaks: a value no extract type holds, a connection lost mid-read --------------

DRIVERS = ["connectorx", "pymysql"]


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_zero_date_names_the_column_and_the_row(
    duckdb_stack: Stack, mariadb: MariaDB, driver: str
) -> None:
    conn = mariadb.admin()
    try:
        with conn.cursor() as cur:
            cur.execute("drop table if exists nps_zero_date")
            cur.execute(
                "create table nps_zero_date (id bigint primary key, created_at datetime, "
                "modified datetime, deleted boolean, score smallint)"
            )
            cur.execute("set session sql_mode = ''")
            cur.execute(
                "insert into nps_zero_date values (1, '2021-09-16 10:00:00', "
                "'2021-09-16 10:00:00', 0, 9), (2, '0000-00-00 00:00:00', "
                "'2021-09-16 11:00:00', 0, 7)"
            )
    finally:
        conn.close()
    source = MySQLSource(mariadb, "nps_zero_date")
    result = cli(
        duckdb_stack, source, "run", "--date", str(D), "--driver", driver, "--json", check=False
    )
    line = one_error_line(result, 1, "nps_zero_date.created_at")
    assert "0000-00-00" in line and "id 2" in line, line
    assert json.loads(result.stdout)["ok"] is False
    assert not list(Path(duckdb_stack.lake).rglob("*.parquet"))


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_score_wider_than_the_extract_type_names_the_row_and_the_choice(
    duckdb_stack: Stack, mariadb: MariaDB, driver: str
) -> None:
    mysql_table(
        mariadb,
        "nps_wide_score",
        "id bigint primary key, created_at datetime(6), modified datetime(6), deleted boolean, "
        "score int",
        [(1, TS, TS, 0, 9), (2, TS, TS, 0, 70000)],
    )
    source = MySQLSource(mariadb, "nps_wide_score")
    result = cli(duckdb_stack, source, "run", "--date", str(D), "--driver", driver, check=False)
    line = one_error_line(result, 1, "nps_wide_score.score holds 70000 (id 2)")
    assert "fix the row in the source" in line, line


@pytest.fixture(scope="module")
def million_rows(mariadb: MariaDB) -> MySQLSource:
    conn = mariadb.admin()
    try:
        with conn.cursor() as cur:
            cur.execute("drop table if exists nps_million")
            cur.execute(
                "create table nps_million (id bigint primary key, created_at datetime(6), "
                "modified datetime(6), deleted boolean, score smallint, key (modified))"
            )
            cur.execute(
                "insert into nps_million select seq, '2021-09-16 10:00:00', "
                "'2021-09-16 10:00:00' + interval (seq mod 80000) second, 0, seq mod 11 "
                "from seq_1_to_1000000"
            )
    finally:
        conn.close()
    return MySQLSource(mariadb, "nps_million")


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_connection_killed_mid_read_is_one_line(
    duckdb_stack: Stack, mariadb: MariaDB, million_rows: MySQLSource, driver: str
) -> None:
    reader = subprocess.Popen(
        [sys.executable, "-m", "loader", "extract", "--date", str(D), "--driver", driver, "--json"],
        cwd=ROOT,
        env=duckdb_stack.loader_env(million_rows),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = None
    admin = mariadb.admin()
    try:
        with admin.cursor() as cur:
            deadline = time.monotonic() + 60
            while killed is None and reader.poll() is None and time.monotonic() < deadline:
                # the row read itself (`select `id`, `created_at`, ...`), not the quick checks
                # on the same connection (`select `id` from ... limit 5`, the duplicate ids):
                # killed after the last of those, the extract has already read every row
                cur.execute(
                    "select id from information_schema.processlist where user = 'nps_reader' "
                    "and info like 'select `id`, %from `nps_million`%'"
                )
                row = cur.fetchone()
                if row:
                    cur.execute(f"kill connection {int(row[0])}")
                    killed = row[0]
                time.sleep(0.01)
    finally:
        admin.close()
    stdout, stderr = reader.communicate(timeout=60)
    assert killed is not None, "the read ended before it could be killed"
    result = subprocess.CompletedProcess(reader.args, reader.returncode, stdout, stderr)
    line = one_error_line(result, 1, "lost the connection to MySQL")
    assert "nps_million" in line and "Exception ignored" not in stderr
    assert json.loads(stdout)["ok"] is False
