"""Daily NPS pipeline: extract -> load -> dbt build -> verify (-> reconcile), for the day each
run covers.

Nothing here needs editing to deploy it (docs/operations.md, "Airflow": copy or link this file
into the DAGs folder of an Airflow 3 deployment, set the Variables, ``airflow dags reserialize``). Every setting is a DAG param (change it per run in the
trigger form) whose value an Airflow Variable ``nps_<param>`` overrides for every run (e.g. set
``nps_lake_url`` in the UI, or ``AIRFLOW_VAR_NPS_LAKE_URL`` in the environment). ``bin_dir`` and
``profiles_dir`` default to ``<project_dir>/.venv/bin`` and ``<project_dir>``; a setting left
empty falls back to the worker's own environment variable, then to the loader's default
(loader/settings.py).

Source password: from the Airflow connection named by ``source_conn_id`` when it is set, else
the worker's own ``NPS_SOURCE_PASSWORD`` is passed through (never an empty override). Only the
tasks that read the source get it; the load and dbt tasks run with it blanked. Warehouse
credentials stay in the dbt ``profiles.yml`` that the loader and dbt share.

Schedule (read when the scheduler parses this file, from the worker environment):
``NPS_REPORTING_TIMEZONE`` (default UTC) is the zone whose midnights end each run's day;
``NPS_DAG_START_DATE`` (default 2021-06-01), ``NPS_DAG_CATCHUP`` (default false: unpausing
runs only the latest day; backfill history with ``nps-loader backfill``, see docs/operations.md) and
``NPS_DAG_RETRIES`` (default 2, five minutes apart).

Reconcile: after verify passes, the run compares the last ``reconcile_days`` days (default 7:
D-6..D) with the source (``nps-loader reconcile``: hard deletes, rewritten history, missed rows;
days whose fingerprints agree cost one aggregate query each side). By default a dry run: one
that finds corrections fails the task with a one-line summary and the command that applies them,
so someone is told; with ``reconcile_apply`` true they are written (its guards still apply) and
folded in by the next run's dbt build. With ``reconcile_days`` 0 the task is skipped.

Each run covers the data interval [D, D+1) of the reporting zone and starts after it has ended;
D is that interval's start as a local date (``run_day`` below). A manually triggered run covers
the last day that has ended, never the current one. A failing command fails its task (and, after
the retries, the run): nothing is swallowed.
"""

from __future__ import annotations

import datetime as dt
import os

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Param
from airflow.timetables.interval import CronDataIntervalTimetable

REPORTING_TIMEZONE = os.environ.get("NPS_REPORTING_TIMEZONE", "UTC")
START_DATE = os.environ.get("NPS_DAG_START_DATE", "2021-06-01")
CATCHUP = os.environ.get("NPS_DAG_CATCHUP", "false").strip().lower() in ("1", "true", "yes")


def setting(name: str) -> str:
    """The Airflow Variable ``nps_<name>`` if it is set, else the run's param."""
    return f"var.value.get('nps_{name}', params.{name})"


def template(expression: str) -> str:
    return "{{ " + expression + " }}"


PROJECT_DIR = setting("project_dir")
BIN_DIR = template(f"{setting('bin_dir')} or ({PROJECT_DIR}) ~ '/.venv/bin'")
PROFILES_DIR = template(f"{setting('profiles_dir')} or ({PROJECT_DIR})")
#: the local day the run covers: its data interval's start, in the reporting zone
RUN_DAY = "{{ run_day(data_interval_start) }}"
SOURCE_PASSWORD = (
    "{% set conn_id = " + setting("source_conn_id") + " %}"
    "{{ conn.get(conn_id).password if conn_id else worker_env('NPS_SOURCE_PASSWORD') }}"
)


def run_day(interval_start: pendulum.DateTime) -> str:
    return str(interval_start.in_timezone(REPORTING_TIMEZONE).strftime("%Y-%m-%d"))


def worker_env(name: str) -> str:
    return os.environ.get(name, "")


def days_before(day: str, n: int) -> str:
    return (dt.date.fromisoformat(day) - dt.timedelta(days=n)).isoformat()


def is_true(value: object) -> bool:
    """A boolean param, or an Airflow Variable's text (true/false, 1/0, yes/no)."""
    return str(value).strip().lower() in ("1", "true", "yes")


with (
    DAG(
        dag_id="nps_pipeline",
        description="Copy yesterday's NPS answers from production and rebuild the NPS marts",
        schedule=CronDataIntervalTimetable("0 0 * * *", timezone=REPORTING_TIMEZONE),
        start_date=pendulum.parse(START_DATE, tz=REPORTING_TIMEZONE),
        catchup=CATCHUP,
        max_active_runs=1,  # days run in order; the marts are correct in any order, but one at a time is cheaper
        default_args={
            "retries": int(os.environ.get("NPS_DAG_RETRIES", "2")),
            "retry_delay": dt.timedelta(minutes=5),
        },
        user_defined_macros={
            "run_day": run_day,
            "worker_env": worker_env,
            "days_before": days_before,
            "is_true": is_true,
        },
        params={
            "project_dir": Param(
                "/opt/nps-warehouse",
                type="string",
                description="Checkout of nps-warehouse (the dbt project)",
            ),
            "bin_dir": Param(
                "",
                type="string",
                description="Folder holding nps-loader and dbt (default: <project_dir>/.venv/bin)",
            ),
            "profiles_dir": Param(
                "",
                type="string",
                description="Folder holding profiles.yml (default: <project_dir>)",
            ),
            "dbt_target": Param(
                "",
                type="string",
                description="dbt target: redshift or postgres in production; required (dev, "
                "the embedded DuckDB file, only when set explicitly)",
            ),
            "source_url": Param(
                "",
                type="string",
                description="mysql://user@host:3306/db, no password (default: the worker's NPS_SOURCE_URL)",
            ),
            "source_conn_id": Param(
                "", type="string", description="Airflow connection holding the source password"
            ),
            "lake_url": Param(
                "",
                type="string",
                description="s3://bucket/prefix or a folder; extracts go under <lake>/nps/ "
                "(default: the worker's NPS_LAKE_URL, else the loader's ./lake under project_dir)",
            ),
            "reconcile_days": Param(
                7,
                type="integer",
                minimum=0,
                description="After verify, reconcile the last N days with the source "
                "(nps-loader reconcile); 0 = off",
            ),
            "monitor_severity": Param(
                "warn",
                enum=["warn", "error"],
                description="What a day flagged by nps_day_monitors does to dbt_build: warn "
                "(the task's log names the day and why) or error (the task fails)",
            ),
            "reconcile_apply": Param(
                False,
                type="boolean",
                description="Write the corrections reconcile finds (default: a dry run that "
                "fails the task when it finds any); its guards still apply",
            ),
        },
        tags=["nps", "dbt"],
    ) as dag
):
    env = {
        "NPS_SOURCE_URL": template(f"{setting('source_url')} or worker_env('NPS_SOURCE_URL')"),
        "NPS_LAKE_URL": template(f"{setting('lake_url')} or worker_env('NPS_LAKE_URL')"),
        "DBT_TARGET": template(setting("dbt_target")),
        "DBT_PROFILES_DIR": PROFILES_DIR,
        "NPS_REPORTING_TIMEZONE": REPORTING_TIMEZONE,
    }
    reads_source = {
        "cwd": template(PROJECT_DIR),
        "append_env": True,
        "env": {**env, "NPS_SOURCE_PASSWORD": SOURCE_PASSWORD},
    }
    no_source = {
        "cwd": template(PROJECT_DIR),
        "append_env": True,
        "env": {**env, "NPS_SOURCE_PASSWORD": ""},
    }

    # A production DAG never falls back to the embedded warehouse: without a target every run
    # fails here, in one line, before anything is read or written.
    check_settings = BashOperator(
        task_id="check_settings",
        bash_command=(
            '[ -n "$DBT_TARGET" ] || { echo "nps_pipeline: no dbt target: set the Airflow '
            "Variable nps_dbt_target (redshift, postgres; dev is the embedded DuckDB file) "
            '- see docs/operations.md, Airflow" >&2; exit 2; }'
        ),
        **no_source,
    )
    extract = BashOperator(
        task_id="extract",
        bash_command=f"{BIN_DIR}/nps-loader extract --date {RUN_DAY} --json",
        **reads_source,
    )
    load = BashOperator(
        task_id="load",
        bash_command=f"{BIN_DIR}/nps-loader load --date {RUN_DAY} --json",
        **no_source,
    )
    dbt_build = BashOperator(
        task_id="dbt_build",
        bash_command=(
            f"{BIN_DIR}/dbt build --vars '{{run_date: {RUN_DAY}, nps_monitor_severity: "
            + template(setting("monitor_severity"))
            + "}'"
        ),
        **no_source,
    )
    verify = BashOperator(
        task_id="verify",
        bash_command=f"{BIN_DIR}/nps-loader verify --date {RUN_DAY} --json",
        **reads_source,
    )

    reconcile_days = "(" + setting("reconcile_days") + ") | int"
    reconcile = BashOperator(
        task_id="reconcile",
        bash_command=(
            "{% set days = " + reconcile_days + " %}"
            "{% if days > 0 %}"
            f"{BIN_DIR}/nps-loader reconcile --start "
            "{{ days_before(run_day(data_interval_start), days - 1) }} "
            f"--end {RUN_DAY} --json"
            "{{ ' --apply' if is_true("
            + setting("reconcile_apply")
            + ") else ' --fail-on-corrections' }}"
            "{% else %}echo 'reconcile_days is 0: reconcile is off'; exit 99{% endif %}"
        ),
        **reads_source,
    )

    check_settings >> extract >> load >> dbt_build >> verify >> reconcile
