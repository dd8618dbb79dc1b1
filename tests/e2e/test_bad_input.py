"""Bad input: one clear line on stderr, a non-zero exit, and the warehouse exactly as it was."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from loader.demo import generate_events, state_as_of
from tests.support.commands import cli, one_error_line
from tests.support.harness import Stack
from tests.support.servers import MariaDB, free_port, s3_server
from tests.support.sources import MySQLSource, mysql_table
from tests.support.stacks import make_factory

DAY = dt.date(2021, 6, 2)
SENTINEL = "Wrong-Sentinel-9313"


def snapshot(stack: Stack) -> tuple[Any, ...]:
    raw = stack.query(
        f"select id, modified, score, deleted, _run_date, _extract_id from {stack.raw_schema}.nps order by id, _run_date"
    )
    loads = stack.query(f"select count(*) from {stack.raw_schema}.nps_loads")
    marts = stack.read_marts()
    return raw, loads, marts


def _loaded_warehouse(request: pytest.FixtureRequest, path: Path) -> tuple[Stack, MySQLSource]:
    """PostgreSQL + MariaDB + S3 with two days loaded and the marts built."""
    stack, source = make_factory("postgres-mysql-s3", request)(path)
    assert isinstance(source, MySQLSource)
    source.write(state_as_of(generate_events(5, dt.date(2021, 6, 1), 3, 50), None).values())
    for day in (dt.date(2021, 6, 1), DAY):
        stack.run_day(source, day)
    stack.dbt("build", "--exclude", "test_type:unit")
    return stack, source


@pytest.fixture
def loaded(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Stack, MySQLSource]:
    return _loaded_warehouse(request, tmp_path)


def _expect_refusal(
    stack: Stack,
    source: MySQLSource,
    args: list[str],
    code: int,
    message: str,
    env: dict[str, str] | None = None,
) -> str:
    before = snapshot(stack)
    saved = dict(stack.env)
    stack.env.update(env or {})
    try:
        result = cli(stack, source, *args, check=False)
    finally:
        stack.env.clear()
        stack.env.update(saved)
    # a warning (a password in the URL) may precede it; the error itself is one line
    line = one_error_line(result, code, message)
    assert snapshot(stack) == before, f"{args} changed the warehouse"
    return line


@pytest.fixture(scope="module")
def loaded_once(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Stack, MySQLSource]:
    """One loaded warehouse for the source refusals: each leaves it untouched (asserted)."""
    return _loaded_warehouse(request, tmp_path_factory.mktemp("once"))


RUN = ["run", "--date", str(DAY)]
TS = dt.datetime(2021, 6, 2, 10)
#: case -> (table to create: (name, ddl, rows) or None, extra args, exit code, message)
SOURCE_REFUSALS: dict[
    str, tuple[tuple[str, str, list[tuple[Any, ...]]] | None, list[str], int, str]
] = {
    "missing table": (None, ["--source-table", "answers"], 1, "does not exist"),
    "missing column": (
        (
            "nps_nodel",
            "id bigint, created_at datetime(6), modified datetime(6), score smallint",
            [(1, TS, TS, 9)],
        ),
        ["--source-table", "nps_nodel"],
        1,
        "has no column deleted",
    ),
    "null id": (
        (
            "nps_nullid",
            "id bigint null, created_at datetime(6), modified datetime(6), deleted boolean, score smallint",
            [(1, TS, TS, 0, 9), (None, TS, TS, 0, 9)],
        ),
        ["--source-table", "nps_nullid"],
        1,
        "null id",
    ),
    "changed column type": (
        (
            "nps_retyped",
            "id bigint, created_at datetime(6), modified datetime(6), deleted boolean, score varchar(8)",
            [(1, TS, TS, 0, "9")],
        ),
        ["--source-table", "nps_retyped"],
        1,
        "score has type varchar",
    ),
    "injection in --source-table": (
        None,
        ["--source-table", "nps`; drop table nps; --"],
        2,
        "not a plain identifier",
    ),
    "injection in --raw-schema": (
        None,
        ["--raw-schema", "raw; drop schema raw"],
        2,
        "not a plain identifier",
    ),
}


@pytest.mark.parametrize("case", list(SOURCE_REFUSALS))
def test_source_refusals(
    loaded_once: tuple[Stack, MySQLSource], mariadb: MariaDB, case: str
) -> None:
    table, args, code, message = SOURCE_REFUSALS[case]
    if table is not None:
        mysql_table(mariadb, *table)
    stack, source = loaded_once
    _expect_refusal(stack, source, [*RUN, *args], code, message)


def test_unreachable_or_refusing_mysql(
    loaded_once: tuple[Stack, MySQLSource], mariadb: MariaDB
) -> None:
    stack, source = loaded_once
    closed = f"mysql://nps_reader@127.0.0.1:{free_port()}/prod"
    _expect_refusal(
        stack,
        source,
        [*RUN, "--source", closed],
        1,
        "cannot connect to MySQL at nps_reader@127.0.0.1",
    )
    _expect_refusal(
        stack,
        source,
        [*RUN, "--source", f"mysql://nps_reader@127.0.0.1:{mariadb.port}/nope"],
        1,
        "nope",
    )


@pytest.mark.parametrize("where", ["env", "url"])
def test_a_wrong_password_is_refused_and_never_echoed(
    loaded_once: tuple[Stack, MySQLSource], mariadb: MariaDB, where: str
) -> None:
    stack, source = loaded_once
    good = source.password
    try:
        if where == "env":
            source.password = SENTINEL
            line = _expect_refusal(stack, source, RUN, 1, "MySQL refused the login")
        else:
            source.password = None
            url = f"mysql://nps_reader:{SENTINEL}@127.0.0.1:{mariadb.port}/prod"
            line = _expect_refusal(
                stack, source, [*RUN, "--source", url], 1, "MySQL refused the login"
            )
    finally:
        source.password = good
    assert SENTINEL not in line


def test_lake_and_date_failures(loaded: tuple[Stack, MySQLSource]) -> None:
    import boto3

    from tests.support.harness import environ

    stack, source = loaded
    _expect_refusal(stack, source, ["run", "--date", "2021-06-31"], 2, "--date is not a real date")
    _expect_refusal(stack, source, ["run", "--date", "06/02/2021"], 2, "--date must be a date")
    _expect_refusal(
        stack,
        source,
        ["backfill", "--start", "2021-06-03", "--end", "2021-06-01"],
        2,
        "--end 2021-06-01 is before --start",
    )
    _expect_refusal(stack, source, ["load", "--date", "2021-06-09"], 1, "no extract of 2021-06-09")

    cli(stack, source, "extract", "--date", str(DAY))
    bucket, prefix = stack.lake[5:].split("/", 1)
    with environ(stack.full_env):
        s3 = boto3.client("s3")
        keys = [
            o["Key"]
            for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/nps/run_date={DAY}/")[
                "Contents"
            ]
        ]
        part = max(
            (k for k in keys if k.endswith(".parquet")),
            key=lambda k: s3.head_object(Bucket=bucket, Key=k)["LastModified"],
        )
        original = s3.get_object(Bucket=bucket, Key=part)["Body"].read()
        tampered = bytearray(original)
        tampered[len(tampered) // 3] ^= 0x01
        s3.put_object(Bucket=bucket, Key=part, Body=bytes(tampered))
    _expect_refusal(
        stack, source, ["load", "--date", str(DAY)], 1, "does not match its manifest checksum"
    )
    with environ(stack.full_env):
        s3.put_object(Bucket=bucket, Key=part, Body=original[: len(original) // 2])
    _expect_refusal(
        stack, source, ["load", "--date", str(DAY)], 1, "does not match its manifest checksum"
    )
    with environ(stack.full_env):
        s3.delete_object(Bucket=bucket, Key=f"{prefix}/nps/run_date={DAY}/_manifest.json")
    _expect_refusal(stack, source, ["load", "--date", str(DAY)], 1, f"no extract of {DAY}")


def test_s3_permission_error(loaded: tuple[Stack, MySQLSource]) -> None:
    stack, source = loaded
    with s3_server(enforce_auth=True) as strict:
        env = {**strict.env(), "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE"}
        line = _expect_refusal(
            stack, source, ["run", "--date", str(DAY)], 1, "S3 denied write of", env=env
        )
        assert "check the credentials" in line and strict.env()["AWS_SECRET_ACCESS_KEY"] not in line


def test_unreachable_warehouse(loaded: tuple[Stack, MySQLSource]) -> None:
    stack, source = loaded
    before = snapshot(stack)
    saved = stack.env["NPS_PG_PORT"]
    stack.env["NPS_PG_PORT"] = str(free_port())
    try:
        result = cli(stack, source, "run", "--date", str(DAY), check=False)
    finally:
        stack.env["NPS_PG_PORT"] = saved
    one_error_line(result, 1, "cannot connect to the warehouse")
    assert snapshot(stack) == before


@pytest.mark.parametrize(
    ("vars_", "message"),
    [
        ('{run_date: "2021-13-45"}', "var run_date is not a real date: '2021-13-45'"),
        ("{run_date: 2021-9-1x}", "var run_date must be a date like 2021-09-16"),
        (
            "{start_date: 2021-06-05, end_date: 2021-06-01}",
            "var end_date (2021-06-01) is before start_date (2021-06-05)",
        ),
        ("{start_date: 2021-06-05}", "vars start_date and end_date go together"),
    ],
)
def test_malformed_dbt_vars_fail_at_once_naming_the_var(
    loaded: tuple[Stack, MySQLSource], vars_: str, message: str
) -> None:
    stack, _ = loaded
    before = snapshot(stack)
    result = stack.dbt("run", "--vars", vars_, expect_success=False)
    assert not result.success
    assert message in str(result.exception or result.result)
    assert snapshot(stack) == before


def test_invalid_scores_are_quarantined_and_warned(loaded: tuple[Stack, MySQLSource]) -> None:
    stack, _ = loaded
    result = stack.dbt("test", "--select", "nps_rejected_responses", expect_success=True)
    statuses = {r.node.name: r.status for r in result.result.results}
    rejected = stack.read_marts().rejected
    expected = "warn" if rejected else "pass"
    assert any(
        name.startswith("has_no_rows") and status == expected for name, status in statuses.items()
    )
