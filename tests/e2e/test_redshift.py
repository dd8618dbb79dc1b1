"""The production target, run for real: the loader and dbt-redshift's own materializations and
hooks on the emulated Redshift (dev/redshift_emulator), MariaDB as the source, S3 (moto) as the
lake. The marts must equal the oracle and the PostgreSQL target's, whatever the order of runs.

One Redshift warehouse and one PostgreSQL warehouse serve the module, in the order the tests
are written (each test says what it starts from).
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loader.demo import generate_events, state_as_of
from tests.support.commands import cli, dbt_cli, one_error_line
from tests.support.harness import Stack
from tests.support.oracle import expected_marts
from tests.support.sources import MySQLSource
from tests.support.stacks import make_factory

START = dt.date(2021, 6, 1)
DAYS = 12
LAST = START + dt.timedelta(days=DAYS - 1)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def warehouses(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, Stack, MySQLSource]]:
    redshift, source = make_factory("redshift-mysql-s3", request)(tmp_path_factory.mktemp("rs"))
    postgres, _ = make_factory("postgres-mysql-s3", request)(tmp_path_factory.mktemp("pg"))
    assert isinstance(source, MySQLSource)
    yield redshift, postgres, source


def restatements(stack: Stack) -> list[tuple[Any, ...]]:
    return stack.query(
        "select grain, period, old_responses, old_promoters, old_passives, old_detractors, "
        "new_responses, new_promoters, new_passives, new_detractors, responses_added, "
        "removed_by_delete, removed_as_invalid, moved_between_categories, moved_from_another_day, "
        f"moved_to_another_day from {stack.schema}.nps_restatements order by grain, period, new_responses"
    )


def raw_fingerprint(stack: Stack) -> list[tuple[Any, ...]]:
    return stack.query(
        f"select _run_date, _extract_id, count(*) from {stack.raw_schema}.nps "
        f"group by 1, 2 order by 1, 2"
    ) + stack.query(f"select extract_id, kind from {stack.raw_schema}.nps_loads order by 1")


def test_first_build_daily_runs_late_changes_reruns_and_full_refresh_equal_the_oracle(
    warehouses: tuple[Stack, Stack, MySQLSource],
) -> None:
    """dbt-redshift's first build (incremental tables created, indexes not asked of it), daily
    runs by date and since the last run, a late update and a late delete restating an old day
    (nps_restatements' incremental branch), a re-run of an old day, --full-refresh."""
    redshift, postgres, source = warehouses
    events = generate_events(11, START, DAYS, 60)
    source.write(state_as_of(events, dt.datetime.combine(LAST, dt.time())).values())

    # the command line of the SPEC: python -m dev.redshift_emulator --postgres URL -- nps-loader ...
    before_last = str(LAST - dt.timedelta(days=1))
    out = cli(redshift, source, "backfill", "--start", str(START), "--end", before_last)
    assert f"backfilled {DAYS - 1} days" in out.stdout
    built = dbt_cli(redshift, "build")  # every model, unit test and data test
    assert "ERROR=0" in built.stdout
    for offset in range(DAYS - 1):
        postgres.run_day(source, START + dt.timedelta(days=offset))
    postgres.dbt("build")

    # the last day, then a late update and a late delete of answers of the 3rd (at 09:00 on
    # the day after the last)
    source.write(state_as_of(events, None).values())
    third = dt.datetime.combine(START + dt.timedelta(days=2), dt.time(12))
    ids = [
        row[0] for row in source.rows() if row[1] and row[1].date() == third.date() and not row[3]
    ]
    late = dt.datetime.combine(LAST + dt.timedelta(days=1), dt.time(9))
    source.execute('update "nps" set score = 0, modified = ? where id = ?', (late, ids[0]))
    source.execute('update "nps" set deleted = 1, modified = ? where id = ?', (late, ids[1]))
    for stack in (redshift, postgres):
        for day in (LAST, LAST + dt.timedelta(days=1)):
            stack.run_day(source, day)
            stack.dbt("run", "--vars", f"{{run_date: {day}}}")
        stack.run_day(source, START + dt.timedelta(days=4))  # a re-run of an old day
        stack.dbt("run")

    expected = expected_marts(source.rows())
    assert redshift.read_marts() == expected
    assert postgres.read_marts() == expected
    recorded = restatements(redshift)
    assert recorded == restatements(postgres)
    assert any(row[0] == "day" and row[1] == third.date() for row in recorded), recorded

    dbt_cli(redshift, "run", "--full-refresh")
    assert redshift.read_marts() == expected
    assert restatements(redshift) == recorded, "a rebuild restates nothing"
    verified = cli(redshift, source, "verify", "--start", str(START), "--end", str(LAST))
    assert "match the source" in verified.stdout


def test_reconcile_apply_repairs_a_hard_delete(
    warehouses: tuple[Stack, Stack, MySQLSource],
) -> None:
    redshift, _, source = warehouses
    victim = next(row[0] for row in source.rows() if not row[3] and row[1])
    source.execute('delete from "nps" where id = ?', (victim,))
    end = str(LAST + dt.timedelta(days=1))
    applied = cli(redshift, source, "reconcile", "--start", str(START), "--end", end, "--apply")
    assert "1 deleted" in applied.stdout or "deleted" in applied.stdout, applied.stdout
    dbt_cli(redshift, "run")
    assert redshift.read_marts() == expected_marts(source.rows())
    again = cli(redshift, source, "reconcile", "--start", str(START), "--end", end)
    assert "nothing to correct" in again.stdout


def test_two_dbt_runs_at_once_with_four_threads_never_race(
    warehouses: tuple[Stack, Stack, MySQLSource],
) -> None:
    """threads: 4 on snapshot isolation: the models' heartbeats never conflict (error 1023), the
    run lock is taken in a transaction, so of two runs started together each succeeds or says
    another run is in progress."""
    redshift, _, source = warehouses
    env = {**redshift.loader_env(source)}
    for _ in range(3):
        runs = [
            subprocess.Popen(
                [*redshift.command("dbt"), *redshift.dbt_args("run")],
                env=env,
                cwd=Path(__file__).resolve().parents[2],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [(run.wait(300), run.stdout.read() if run.stdout else "") for run in runs]
        for code, out in outputs:
            assert "1023" not in out and "already exists" not in out, out[-3000:]
            assert code == 0 or "another dbt run of this project is in progress" in out, out[-3000:]
        assert any(code == 0 for code, _ in outputs)
    assert redshift.query(f"select count(*) from {redshift.schema}.nps_run_lock") == [(0,)]
    assert redshift.read_marts() == expected_marts(source.rows())


def test_a_tampered_extract_is_refused_before_the_load_takes_the_lock(
    warehouses: tuple[Stack, Stack, MySQLSource],
) -> None:
    """LOCK takes ACCESS EXCLUSIVE: the parts are checked before it, so a reader holding
    raw.nps never waits for a download, and a bad extract fails without waiting for readers."""
    import boto3

    from tests.support.harness import environ

    redshift, _, source = warehouses
    day = START + dt.timedelta(days=6)
    cli(redshift, source, "extract", "--date", str(day))
    bucket, prefix = redshift.lake[len("s3://") :].split("/", 1)
    with environ(redshift.env):
        s3 = boto3.client("s3")
        keys = [
            o["Key"]
            for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/nps/run_date={day}/")[
                "Contents"
            ]
            if o["Key"].endswith(".parquet")
        ]
        newest = max(keys)
        s3.put_object(Bucket=bucket, Key=newest, Body=b"PAR1 not what the manifest says")
    before = raw_fingerprint(redshift)
    with redshift.connect() as reader, reader.cursor() as cur:
        cur.execute(
            f"lock table {redshift.raw_schema}.nps"
        )  # a long reader, inside its transaction
        try:
            result = subprocess.run(
                [*redshift.command("nps-loader"), "load", "--date", str(day)],
                env=redshift.loader_env(source),
                capture_output=True,
                text=True,
                timeout=60,
            )
        finally:
            reader.rollback()
    one_error_line(result, 1, "does not match its manifest checksum")
    assert raw_fingerprint(redshift) == before
    cli(redshift, source, "run", "--date", str(day))  # a fresh extract loads


def test_a_timestamp_the_copy_mapped_wrongly_fails_the_load_naming_column_and_value(
    warehouses: tuple[Stack, Stack, MySQLSource],
) -> None:
    redshift, _, source = warehouses
    before = raw_fingerprint(redshift)
    result = cli(
        redshift,
        source,
        "run",
        "--date",
        str(START + dt.timedelta(days=3)),
        check=False,
        env={"REDSHIFT_EMULATOR_FAULT": "timestamp_unit"},
    )
    line = one_error_line(result, 1, "the COPY staged created_at 1970-01-")
    assert re.search(r"outside the extract's range \[2021-06-\d\dT", line), line
    assert raw_fingerprint(redshift) == before


def test_the_emulator_refuses_lock_outside_a_transaction_as_redshift_documents(
    warehouses: tuple[Stack, Stack, MySQLSource],
) -> None:
    """What dbt-redshift (autocommit on, one statement at a time) would send for the old run
    lock: LOCK alone, outside a transaction block."""
    import redshift_connector

    from dev.redshift_emulator import emulate

    redshift, _, _ = warehouses
    assert redshift.emulated_postgres is not None
    with emulate(redshift.emulated_postgres):
        conn = redshift_connector.connect(host="x", database="x", user="x", password="x")
        conn.autocommit = True
        try:
            with pytest.raises(redshift_connector.ProgrammingError, match=r"r_LOCK\.html"):
                conn.cursor().execute(f"lock {redshift.schema}.nps_run_lock")
            cur = conn.cursor()
            cur.execute("begin")
            cur.execute(f"lock {redshift.schema}.nps_run_lock")
            cur.execute("commit")
        finally:
            conn.close()


def test_the_redshift_smoke_checklist_passes_on_the_emulator(
    warehouses: tuple[Stack, Stack, MySQLSource], tmp_path: Path
) -> None:
    """`make redshift-smoke`'s script, run here on the emulated Redshift so that what a user
    with a cluster runs is known to work up to what only the cluster can show."""
    import boto3

    from tests.support.harness import ROOT, environ

    redshift, _, _ = warehouses
    assert redshift.emulated_postgres is not None
    with environ(redshift.env):
        boto3.client("s3").create_bucket(Bucket="smoke")
    env = {
        **redshift.loader_env(None),
        "NPS_LAKE_URL": "s3://smoke/lake",
        "NPS_RAW_SCHEMA": "raw_smoke",
        "NPS_REDSHIFT_SCHEMA": "analytics_smoke",
    }
    result = subprocess.run(
        [
            sys.executable,
            "scripts/redshift_smoke.py",
            "--workdir",
            str(tmp_path),
            "--emulator",
            redshift.emulated_postgres,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("[")]
    assert [line.split("]")[0] for line in lines] == ["[PASS"] * 5 + ["[SKIP"], result.stdout


# --- what a daily run reads (docs/performance.md, "Redshift at a billion rows") --------------

#: Statements of an ordinary day that read a big table without a bound a zone map can use, each
#: named with why it stays (docs/performance.md lists them).
EXCUSED = {
    # the reporting-zone check before each run: the first row of the current state
    r"select _reporting_timezone from \S+int_nps_responses_current\S* limit 1": "one block",
    # reconcile's check that dbt has folded in every load before it trusts fingerprints
    r"select max\(_loaded_at\) from \S+int_nps_responses_current": "one column, once per reconcile",
    # the plan of the daily counts: is any stored row older than the last count (a rebuild)?
    r"where _batch_at <= cast\('[^']+' as timestamp\) limit 1": "stops at the first block",
}


def _statements(log: Path) -> list[dict[str, Any]]:
    import json

    return [json.loads(line) for line in log.read_text().splitlines()]


def _whole_table_reads(statements: list[dict[str, Any]]) -> list[tuple[str, str]]:
    from dev.redshift_emulator.zone_maps import reads

    found = []
    for statement in statements:
        sql = statement["sql"]
        flat = " ".join(sql.split())
        if any(re.search(pattern, flat, re.IGNORECASE) for pattern in EXCUSED):
            continue
        found += [(read.table, flat[:300]) for read in reads(sql) if not read.pruned]
    return found


def test_a_daily_run_reads_the_days_blocks_of_raw_and_the_current_state(
    warehouses: tuple[Stack, Stack, MySQLSource], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every statement an ordinary day sends to Redshift (the load, dbt build with its tests,
    verify of the day, reconcile of the trailing week) bounds raw.nps and the current state by
    literals on their sort keys (or columns that follow them), never by a subquery or a join
    alone: at a billion rows, anything else reads the whole table."""
    redshift, _, source = warehouses
    day = LAST + dt.timedelta(days=2)
    at = dt.datetime.combine(day, dt.time(10))
    first_id = max(row[0] for row in source.rows()) + 1
    for k in range(25):
        source.execute(
            'insert into "nps" (id, created_at, modified, deleted, score) values (?, ?, ?, 0, ?)',
            (first_id + k, at, at, k % 11),
        )
    old = next(r[0] for r in source.rows() if r[1] and r[1].date() == START and not r[3])
    source.execute('update "nps" set score = 10, modified = ? where id = ?', (at, old))

    log = tmp_path / "statements.jsonl"
    monkeypatch.setenv("REDSHIFT_EMULATOR_LOG", str(log))
    env = {"REDSHIFT_EMULATOR_LOG": str(log)}
    redshift.run_day(source, day)
    built = dbt_cli(redshift, "build", "--vars", f"{{run_date: {day}}}")
    assert "ERROR=0" in built.stdout
    cli(redshift, source, "verify", "--date", str(day), env=env)
    week = str(day - dt.timedelta(days=6))
    cli(redshift, source, "reconcile", "--start", week, "--end", str(day), env=env)

    statements = _statements(log)
    assert len(statements) > 50, "the emulator logged the run's statements"
    assert not any(s["sql"].lstrip().lower().startswith("declare") for s in statements), (
        "reconcile reads without a server-side cursor"
    )
    assert _whole_table_reads(statements) == []
    assert redshift.read_marts() == expected_marts(source.rows())


def test_full_refresh_inserts_without_a_delete_and_vacuums_after_commit(
    warehouses: tuple[Stack, Stack, MySQLSource], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--full-refresh rebuilds the incremental tables in place: their rows are deleted and
    re-inserted in one transaction (readers see the old state until it commits), with no second
    delete joined on the new rows, and each table's deleted blocks are reclaimed right after it
    commits (VACUUM DELETE ONLY, which Redshift refuses inside a transaction)."""
    redshift, _, source = warehouses
    log = tmp_path / "statements.jsonl"
    monkeypatch.setenv("REDSHIFT_EMULATOR_LOG", str(log))
    dbt_cli(redshift, "run", "--full-refresh")
    statements = _statements(log)
    vacuums = [
        s for s in statements if re.match(r"\s*(/\*.*?\*/\s*)?vacuum delete only", s["sql"], re.S)
    ]
    vacuumed = {re.sub(r'["\s]', "", s["sql"]).split(".")[-1].split("to100")[0] for s in vacuums}
    assert vacuumed == {"int_nps_responses_current", "int_nps_daily_counts", "nps_rolling_daily"}
    assert not any(s["in_transaction"] for s in vacuums)
    assert not [
        s["sql"]
        for s in statements
        if re.search(r"delete from \S+ where \(\w+\) in \(", " ".join(s["sql"].split()))
    ], "a rebuild only inserts"
    assert redshift.read_marts() == expected_marts(source.rows())


def test_the_tables_are_sorted_on_the_day_their_daily_statements_filter_on(
    warehouses: tuple[Stack, Stack, MySQLSource],
) -> None:
    """The sort keys the daily run relies on, as the emulator keeps them (a B-tree on each
    table's SORTKEY): raw.nps on its load day, the current state and the daily tables on the
    response's day."""
    redshift, _, _ = warehouses
    rows = redshift.query(
        "select schemaname, tablename, indexdef from pg_indexes where indexname like '%_sortkey' "
        f"and schemaname in ('{redshift.schema}', '{redshift.raw_schema}')"
    )
    keys = {table: definition.split("(")[-1].rstrip(")") for _, table, definition in rows}
    assert keys == {
        "nps": "_run_date, _loaded_at",
        "int_nps_responses_current": "response_date",
        "int_nps_daily_counts": "response_date",
        "nps_rolling_daily": "response_date",
    }


def test_the_charts_are_drawn_from_redshift(
    warehouses: tuple[Stack, Stack, MySQLSource], tmp_path: Path
) -> None:
    """`nps-loader charts` reads the marts through the loader's Redshift connection."""
    from loader.charts import CHARTS

    redshift, _, _ = warehouses
    drawn = cli(redshift, None, "charts", "--out", str(tmp_path / "assets"), "--json")
    assert '"command": "charts"' in drawn.stdout
    for name, _ in CHARTS.values():
        assert (tmp_path / "assets" / name).stat().st_size > 10_000, name
