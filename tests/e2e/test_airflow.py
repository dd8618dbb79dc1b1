"""The DAG run by real Airflow (its own venv): days in order, a failure, the source password
handed only to the tasks that read the source, and a manual trigger that never covers an
open day."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from loader.demo import generate_events, state_as_of
from tests.support.harness import ROOT, Stack
from tests.support.oracle import expected_marts
from tests.support.servers import MariaDB, unavailable
from tests.support.sources import MySQLSource, SqliteSource
from tests.support.stacks import new_duckdb_stack

AIRFLOW = ROOT / ".venv-airflow" / "bin" / "airflow"
DAG_FILE = ROOT / "orchestration" / "airflow" / "dags" / "nps_pipeline.py"
START = dt.date(2021, 6, 1)


def airflow_env(tmp_path: Path, stack: Stack, source_url: str) -> dict[str, str]:
    if not AIRFLOW.exists():
        unavailable("Airflow is not installed in .venv-airflow (make .venv-airflow/.installed)")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DBT_", "NPS_"))},
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAG_FILE.parent),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "NPS_DAG_RETRIES": "0",
        # the DAG's settings, as an operator would give them: Airflow Variables. bin_dir and
        # profiles_dir are left out: they follow project_dir (its .venv/bin and profiles.yml)
        "AIRFLOW_VAR_NPS_PROJECT_DIR": str(ROOT),
        "AIRFLOW_VAR_NPS_SOURCE_URL": source_url,
        "AIRFLOW_VAR_NPS_LAKE_URL": stack.lake,
        "AIRFLOW_VAR_NPS_DBT_TARGET": "dev",  # the embedded warehouse: asked for explicitly
        "NPS_DUCKDB_PATH": stack.env["NPS_DUCKDB_PATH"],
        "DBT_TARGET_PATH": str(tmp_path / "dbt-target"),
        "DBT_LOG_PATH": str(tmp_path / "dbt-logs"),
    }
    subprocess.run([str(AIRFLOW), "db", "migrate"], env=env, check=True, capture_output=True)
    return env


def dags_test(
    env: dict[str, str], tmp_path: Path, day: dt.date | None
) -> subprocess.CompletedProcess[str]:
    """``airflow dags test`` for the run whose data interval is the day ``day`` (its logical
    date is the end of that interval, as for a manual trigger), or for now when None."""
    args = [] if day is None else [(day + dt.timedelta(days=1)).isoformat()]
    return subprocess.run(
        [str(AIRFLOW), "dags", "test", "nps_pipeline", *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )


@pytest.mark.slow
def test_dag_runs_days_with_real_airflow_and_fails_loudly(tmp_path: Path) -> None:
    stack = new_duckdb_stack(tmp_path / "wh")
    source = SqliteSource(tmp_path / "source.db")
    source.write(state_as_of(generate_events(31, START, 5, 80), None).values())
    env = airflow_env(tmp_path, stack, source.url)

    days = [START + dt.timedelta(days=n) for n in range(4)]
    for day in days:  # one day, then three consecutive days
        result = dags_test(env, tmp_path, day)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert "verify" in result.stdout + result.stderr

    cutoff = dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time())
    expected = expected_marts([r for r in source.rows() if r[2] < cutoff])
    assert stack.read_marts() == expected
    assert stack.query("select distinct run_date from raw.nps_loads order by 1") == [
        (d,) for d in days
    ]

    # a manual trigger now covers the last day that has ended (yesterday), never today
    now = dt.datetime.now(dt.UTC)
    manual = dags_test(env, tmp_path, None)
    assert manual.returncode == 0, manual.stdout[-3000:] + manual.stderr[-3000:]
    newest = stack.query("select max(run_date) from raw.nps_loads")[0][0]
    assert newest in {now.date() - dt.timedelta(days=1), dt.datetime.now(dt.UTC).date()}
    assert newest < dt.datetime.now(dt.UTC).date() or now.date() < newest

    env["AIRFLOW_VAR_NPS_SOURCE_URL"] = "sqlite:///does/not/exist.db"
    failed = dags_test(env, tmp_path, days[-1] + dt.timedelta(days=1))
    output = failed.stdout + failed.stderr
    assert "SQLite source does/not/exist.db does not exist" in output
    assert failed.returncode != 0, "a failed task must fail the run"
    assert stack.read_marts() == expected

    # reconcile: a hard delete of an answer of days[3], applied by the next run's trailing
    # 3-day reconcile, and folded in by the run after it
    env["AIRFLOW_VAR_NPS_SOURCE_URL"] = source.url
    victim = next(r[0] for r in sorted(source.rows()) if r[1] and r[1].date() == days[3])
    source.execute('delete from "nps" where id = ?', (victim,))
    fifth = days[-1] + dt.timedelta(days=1)
    # the default: a dry run of the trailing 7 days, which fails the task when it finds any
    # correction, in one line with the command that applies it
    env |= {"AIRFLOW_VAR_NPS_SOURCE_URL": source.url}
    told = dags_test(env, tmp_path, fifth)
    output = told.stdout + told.stderr
    assert told.returncode != 0, output[-3000:]
    assert "found 1 correction(s) (1 deleted from the source, 0 differ, 0 never loaded)" in output
    assert "--apply, then dbt run" in output
    env |= {"AIRFLOW_VAR_NPS_RECONCILE_DAYS": "3", "AIRFLOW_VAR_NPS_RECONCILE_APPLY": "true"}
    reconciled = dags_test(env, tmp_path, fifth)
    assert reconciled.returncode == 0, reconciled.stdout[-3000:] + reconciled.stderr[-3000:]
    assert stack.query(
        "select run_date, rows_loaded from raw.nps_loads where kind = 'reconcile'"
    ) == [(days[2], 1)]
    assert ("deleted_from_source",) in stack.query(
        f"select _correction from raw.nps where id = {victim}"
    )


@pytest.mark.slow
def test_dag_hands_the_source_password_only_to_source_tasks(
    tmp_path: Path, mariadb: MariaDB
) -> None:
    stack = new_duckdb_stack(tmp_path / "wh")
    source = MySQLSource(mariadb, "nps_airflow")
    source.write(state_as_of(generate_events(5, START, 2, 30), None).values())
    env = airflow_env(tmp_path, stack, mariadb.url())  # the URL carries no password
    env["NPS_SOURCE_TABLE"] = source.table  # the worker's environment reaches every task

    # no connection id: the worker's own NPS_SOURCE_PASSWORD is used, not overridden with ''
    result = dags_test({**env, "NPS_SOURCE_PASSWORD": mariadb.password}, tmp_path, START)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert mariadb.password not in result.stdout + result.stderr
    # what each task is handed (Airflow masks any value of a *PASSWORD key in the rendered
    # fields, even an empty one, so the definitions are checked)
    handed = _parse_dag(env)["password"]
    assert handed["dbt_build"] == handed["load"] == ""
    assert "conn.get(conn_id).password" in handed["extract"] == handed["verify"]

    # a connection id: its password is used, whatever the worker has
    conn = json.dumps({"conn_type": "mysql", "password": mariadb.password})
    with_conn = {
        **env,
        "AIRFLOW_CONN_NPS_SOURCE": conn,
        "AIRFLOW_VAR_NPS_SOURCE_CONN_ID": "nps_source",
    }
    second = dags_test(with_conn, tmp_path, START + dt.timedelta(days=1))
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert stack.query("select count(*) from raw.nps_loads") == [(2,)]


def _parse_dag(env: dict[str, str]) -> dict[str, Any]:
    """The DAG as the scheduler parses it with this environment."""
    code = (
        "import json, runpy; d = runpy.run_path(__import__('sys').argv[1])['dag']; "
        "print(json.dumps({'catchup': d.catchup, 'start': d.start_date.isoformat(), "
        "'zone': str(d.timetable._timezone.name), 'password': "
        "{t.task_id: t.env['NPS_SOURCE_PASSWORD'] for t in d.tasks}}))"
    )
    python = AIRFLOW.with_name("python")
    done = subprocess.run(
        [str(python), "-c", code, str(DAG_FILE)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
def test_dag_schedule_follows_the_environment(tmp_path: Path) -> None:
    if not AIRFLOW.exists():
        unavailable("Airflow is not installed in .venv-airflow (make .venv-airflow/.installed)")
    base = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NPS_"))},
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
    }
    default = _parse_dag(base)
    assert default["catchup"] is False, "unpausing must not replay years of days"
    assert default["zone"] == "UTC"
    korea = _parse_dag(
        {
            **base,
            "NPS_REPORTING_TIMEZONE": "Asia/Seoul",
            "NPS_DAG_START_DATE": "2024-03-01",
            "NPS_DAG_CATCHUP": "true",
        }
    )
    assert (korea["catchup"], korea["start"], korea["zone"]) == (
        True,
        "2024-02-29T15:00:00+00:00",  # midnight in Seoul
        "Asia/Seoul",
    )


@pytest.mark.slow
def test_dag_runs_the_local_day_of_the_reporting_zone(tmp_path: Path) -> None:
    """With NPS_REPORTING_TIMEZONE=Asia/Seoul the timetable's days are Korean days: the run
    whose interval ends at 2021-06-02 00:00 KST loads the KST day 2021-06-01, whose window is
    2021-05-31 15:00 to 2021-06-01 15:00 UTC (less the 1h lookback)."""
    stack = new_duckdb_stack(tmp_path / "wh")
    stack.reporting_timezone = "Asia/Seoul"
    source = SqliteSource(tmp_path / "source.db")
    source.write(state_as_of(generate_events(17, START, 3, 20), None).values())
    env = airflow_env(tmp_path, stack, source.url)
    env["NPS_REPORTING_TIMEZONE"] = "Asia/Seoul"
    result = dags_test(env, tmp_path, START)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert stack.query("select run_date, window_start, window_end from raw.nps_loads") == [
        (START, dt.datetime(2021, 5, 31, 14), dt.datetime(2021, 6, 1, 15))
    ]
    zones = stack.query(
        "select distinct _reporting_timezone from analytics.int_nps_responses_current"
    )
    assert zones == [("Asia/Seoul",)]


@pytest.mark.slow
def test_the_documented_deploy_needs_a_target_and_then_runs(tmp_path: Path) -> None:
    """docs/operations.md, "Airflow", step by step: the DAG file linked into the deployment's
    DAGs folder, the Variables set with `airflow variables set`, `airflow dags reserialize`.
    Without nps_dbt_target every run fails in one line before anything is read or written."""
    if not AIRFLOW.exists():
        unavailable("Airflow is not installed in .venv-airflow (make .venv-airflow/.installed)")
    stack = new_duckdb_stack(tmp_path / "wh")
    source = SqliteSource(tmp_path / "source.db")
    source.write(state_as_of(generate_events(3, START, 2, 30), None).values())
    home = tmp_path / "airflow"
    (home / "dags").mkdir(parents=True)
    (home / "dags" / DAG_FILE.name).symlink_to(DAG_FILE)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DBT_", "NPS_"))},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "NPS_DAG_RETRIES": "0",
        "NPS_DUCKDB_PATH": stack.env["NPS_DUCKDB_PATH"],
        "DBT_TARGET_PATH": str(tmp_path / "dbt-target"),
        "DBT_LOG_PATH": str(tmp_path / "dbt-logs"),
    }

    def airflow(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(AIRFLOW), *args], env=env, capture_output=True, text=True, cwd=tmp_path
        )

    assert airflow("db", "migrate").returncode == 0
    for name, value in (
        ("nps_project_dir", str(ROOT)),
        ("nps_source_url", source.url),
        ("nps_lake_url", stack.lake),
    ):
        assert airflow("variables", "set", name, value).returncode == 0
    reserialized = airflow("dags", "reserialize")
    assert reserialized.returncode == 0, reserialized.stderr[-2000:]
    listed = airflow("dags", "list")
    assert "nps_pipeline" in listed.stdout, listed.stdout + listed.stderr[-2000:]

    day = (START + dt.timedelta(days=1)).isoformat()
    no_target = airflow("dags", "test", "nps_pipeline", day)
    assert no_target.returncode != 0
    assert "no dbt target: set the Airflow Variable nps_dbt_target" in (
        no_target.stdout + no_target.stderr
    )
    assert not Path(stack.env["NPS_DUCKDB_PATH"]).exists() and not Path(stack.lake).exists()

    assert airflow("variables", "set", "nps_dbt_target", "dev").returncode == 0
    ran = airflow("dags", "test", "nps_pipeline", day)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert stack.query("select run_date from raw.nps_loads") == [(START,)]
