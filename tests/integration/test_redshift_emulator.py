"""The emulated Redshift itself, against the real PostgreSQL and S3 servers: every statement
PostgreSQL accepts but AWS documents Redshift refuses is refused; COPY ... FORMAT AS PARQUET
MANIFEST loads from S3 with Redshift's checks; Redshift's functions give Redshift's results;
autocommit, LOCK and snapshot isolation behave as on Redshift."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dev.redshift_emulator import emulate
from tests.support.harness import ROOT, environ
from tests.support.servers import Postgres, S3Server
from tests.unit.test_redshift_emulator_rules import EXAMPLES

SCHEMA = "emulator_checks"


@pytest.fixture(scope="module")
def emulated(postgres: Postgres, s3: S3Server) -> Iterator[Postgres]:
    import boto3
    import psycopg2

    conn = psycopg2.connect(postgres.url())
    with conn, conn.cursor() as cur:
        cur.execute(f"drop schema if exists {SCHEMA} cascade; create schema {SCHEMA}")
        for table in ("t", "u", "v"):
            cur.execute(
                f"create table {SCHEMA}.{table} (id bigint, name varchar(20), a int, b int)"
            )
    conn.close()
    with environ(s3.env()):
        boto3.client("s3").create_bucket(Bucket="emulator")
        with emulate(postgres.url()):
            yield postgres


def redshift(autocommit: bool = True) -> Any:
    """A connection as dbt-redshift opens it (redshift_connector, autocommit on)."""
    import redshift_connector

    conn = redshift_connector.connect(host="x", database="x", user="x", password="x")
    conn.autocommit = autocommit
    conn.cursor().execute(f"set search_path to {SCHEMA}, public")
    return conn


def run(sql: str) -> list[tuple[Any, ...]]:
    conn = redshift()
    try:
        cur = conn.cursor().execute(sql)
        return list(cur.fetchall()) if cur.description else []
    finally:
        conn.close()


@pytest.mark.parametrize(("what", "sql"), sorted(EXAMPLES.items()))
def test_what_postgresql_accepts_and_redshift_refuses_is_refused(
    emulated: Postgres, what: str, sql: str
) -> None:
    import psycopg2
    import redshift_connector

    plain = psycopg2.connect(emulated.url())
    try:
        with plain.cursor() as cur:
            cur.execute(f"set search_path to {SCHEMA}")
            cur.execute(sql)  # PostgreSQL accepts it
    finally:
        plain.rollback()
        plain.close()
    with pytest.raises(
        redshift_connector.ProgrammingError, match=r"docs\.aws\.amazon\.com/redshift"
    ):
        run(sql)


def test_lock_outside_a_transaction_is_refused_inside_one_it_holds(emulated: Postgres) -> None:
    import redshift_connector

    conn = redshift()
    try:
        with pytest.raises(redshift_connector.ProgrammingError, match=r"r_LOCK\.html"):
            conn.cursor().execute("lock t")
        cur = conn.cursor()
        cur.execute("begin")
        cur.execute("lock t")
        cur.execute("commit")
    finally:
        conn.close()


def test_vacuum_inside_a_transaction_is_refused_outside_one_it_runs(emulated: Postgres) -> None:
    import redshift_connector

    conn = redshift()
    try:
        conn.cursor().execute("create table if not exists vacuumed (id int)")
        cur = conn.cursor()
        cur.execute("begin")
        with pytest.raises(redshift_connector.ProgrammingError, match=r"r_VACUUM_command\.html"):
            cur.execute("vacuum delete only vacuumed to 100 percent")
        conn.rollback()
        conn.cursor().execute("vacuum delete only vacuumed to 100 percent")
    finally:
        conn.close()


def test_redshift_functions_give_redshifts_results(emulated: Postgres) -> None:
    (row,) = run(
        "select dateadd(minute, -90, cast('2021-09-16 00:30:00' as timestamp)), "
        "datediff(day, cast('2021-09-15 23:59:00' as timestamp), cast('2021-09-16 00:01:00' as timestamp)), "
        "datediff(month, cast('2021-01-31' as timestamp), cast('2021-02-01' as timestamp)), "
        "convert_timezone('UTC', 'Asia/Seoul', cast('2021-09-15 20:00:00' as timestamp)), "
        "convert_timezone('America/New_York', cast('2021-07-01 12:00:00' as timestamp)), "
        "nvl(null, 7), round(cast(2.345 as float8), 2), pg_last_copy_count()"
    )
    assert row[0] == dt.datetime(2021, 9, 15, 23, 0)
    assert row[1] == 1  # boundaries crossed, not 24-hour periods
    assert row[2] == 1
    assert row[3] == dt.datetime(2021, 9, 16, 5, 0)
    assert row[4] == dt.datetime(2021, 7, 1, 8, 0)
    assert row[5] == 7 and row[6] == pytest.approx(2.35) and row[7] == 0
    (now,) = run("select getdate()")[0]
    assert now.microsecond == 0  # GETDATE has no fractional seconds
    run("insert into t (id, name) values (1, 'b'), (2, 'a')")
    assert run("select listagg(name, ',') from (select name from t order by name) as s") == [
        ("a,b",)
    ]


def test_the_system_objects_dbt_redshift_reads_are_there(emulated: Postgres) -> None:
    assert run("select count(*) from svv_table_info where \"table\" = 't'") == [(1,)]
    assert run(
        "select column_name from svv_redshift_columns where table_name = 't' order by ordinal_position"
    ) == [("id",), ("name",), ("a",), ("b",)]
    assert run("select count(*) from pg_catalog.svv_external_columns") == [(0,)]
    assert (
        run(
            "select * from pg_get_late_binding_view_cols() cols(view_schema name, view_name name, "
            "col_name name, col_type varchar, ordinal_position int)"
        )
        == []
    )


def put_parts(s3: S3Server, tables: list[pa.Table], content_length: bool = True) -> str:
    import boto3

    client = boto3.client("s3", **({"endpoint_url": s3.endpoint}))
    entries = []
    for i, table in enumerate(tables):
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        key = f"copy/part-{i}.parquet"
        client.put_object(Bucket="emulator", Key=key, Body=buffer.getvalue())
        entry: dict[str, Any] = {"url": f"s3://emulator/{key}", "mandatory": True}
        if content_length:
            entry["meta"] = {"content_length": len(buffer.getvalue())}
        entries.append(entry)
    client.put_object(
        Bucket="emulator", Key="copy/x.manifest", Body=json.dumps({"entries": entries}).encode()
    )
    return "s3://emulator/copy/x.manifest"


ROLE = "arn:aws:iam::123456789012:role/loader"


def copy_into(table: str, uri: str) -> tuple[int, list[tuple[Any, ...]]]:
    conn = redshift(autocommit=False)
    try:
        cur = conn.cursor()
        cur.execute(f"copy {table} from '{uri}' iam_role '{ROLE}' format as parquet manifest")
        cur.execute("select pg_last_copy_count()")
        count = int(cur.fetchone()[0])
        cur.execute(f"select * from {table} order by 1")
        rows = list(cur.fetchall())
        return count, rows
    finally:
        conn.rollback()
        conn.close()


def test_copy_loads_parquet_parts_by_position_and_counts_them(
    emulated: Postgres, s3: S3Server
) -> None:
    when = dt.datetime(2021, 9, 16, 10, 30, 0, 123456)
    parts = [
        pa.table(
            {"x": pa.array([1, 2], pa.int64()), "at": pa.array([when, None], pa.timestamp("us"))}
        ),
        pa.table({"x": pa.array([3], pa.int64()), "at": pa.array([when], pa.timestamp("us"))}),
    ]
    run("create table copied (id bigint, at timestamp)")
    count, rows = copy_into("copied", put_parts(s3, parts))
    assert count == 3
    assert rows == [(1, when), (2, None), (3, when)]  # microseconds kept, NULL kept


@pytest.mark.parametrize(
    ("parts", "content_length", "message"),
    [
        ([pa.table({"x": pa.array([1], pa.int64())})], True, "Unmatched number of columns"),
        (
            [pa.table({"x": pa.array(["1"]), "at": pa.array([None], pa.timestamp("us"))})],
            True,
            "incompatible Parquet schema for column 'id'",
        ),
        (
            [
                pa.table(
                    {"x": pa.array([1], pa.int64()), "at": pa.array([None], pa.timestamp("us"))}
                )
            ],
            False,
            "content_length",
        ),
    ],
)
def test_copy_refuses_what_redshift_refuses_and_logs_it_in_stl_load_errors(
    emulated: Postgres, s3: S3Server, parts: list[pa.Table], content_length: bool, message: str
) -> None:
    import redshift_connector

    run("create table if not exists refused (id bigint, at timestamp)")
    uri = put_parts(s3, parts, content_length)
    before = run("select count(*) from stl_load_errors")[0][0]
    with pytest.raises(redshift_connector.ProgrammingError, match=message):
        copy_into("refused", uri)
    assert run("select count(*) from stl_load_errors")[0][0] == before + 1
    assert run("select count(*) from refused") == [(0,)]


def test_concurrent_updates_of_one_row_fail_as_redshifts_error_1023(emulated: Postgres) -> None:
    """Snapshot isolation: a transaction that updates a row another committed since it began
    aborts (what the run lock's per-model update did with threads: 4)."""
    import redshift_connector

    run("create table one_row (n int)")
    run("insert into one_row values (0)")
    first, second = redshift(), redshift()
    try:
        a, b = first.cursor(), second.cursor()
        a.execute("begin")
        b.execute("begin")
        a.execute("select count(*) from one_row")
        b.execute("select count(*) from one_row")  # both snapshots taken
        a.execute("update one_row set n = n + 1")
        errors: list[Exception] = []

        def update() -> None:
            try:
                b.execute("update one_row set n = n + 1")
            except redshift_connector.ProgrammingError as exc:
                errors.append(exc)

        waiting = threading.Thread(target=update)
        waiting.start()
        a.execute("commit")
        waiting.join(30)
        assert len(errors) == 1 and "1023" in str(errors[0]), errors
    finally:
        first.close()
        second.close()


def test_the_wrapper_runs_only_nps_loader_or_dbt(emulated: Postgres) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dev.redshift_emulator", "--postgres", emulated.url(), "--", "ls"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "nps-loader ... or dbt ..." in result.stderr
