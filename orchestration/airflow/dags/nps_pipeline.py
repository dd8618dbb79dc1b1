"""Daily NPS pipeline: extract -> load -> dbt build -> verify, for the day each run covers.

Nothing here needs editing to deploy it. Every setting is a DAG param (change it per run in the
trigger form) whose value an Airflow Variable ``nps_<param>`` overrides for every run (e.g. set
``nps_lake_url`` in the UI, or ``AIRFLOW_VAR_NPS_LAKE_URL`` in the environment). The source
password comes from the Airflow connection named by ``source_conn_id`` when it is set, else from
the worker's environment (``NPS_SOURCE_PASSWORD``); warehouse credentials stay in the dbt
``profiles.yml`` that the loader and dbt share.

Each run covers the data interval [D, D+1) and starts after it has ended; ``{{ ds }}`` is D.
A failing command fails its task (and, after the retries, the run): nothing is swallowed.
"""

from __future__ import annotations

import datetime as dt
import os

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Param
from airflow.timetables.interval import CronDataIntervalTimetable


def setting(name: str) -> str:
    """The Airflow Variable ``nps_<name>`` if it is set, else the run's param."""
    return f"{{{{ var.value.get('nps_{name}', params.{name}) }}}}"


with DAG(
    dag_id="nps_pipeline",
    description="Copy yesterday's NPS answers from production and rebuild the NPS marts",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2021, 6, 1, tz="UTC"),
    catchup=True,
    max_active_runs=1,  # days run in order; the marts are correct in any order, but one at a time is cheaper
    default_args={
        "retries": int(os.environ.get("NPS_DAG_RETRIES", "2")),
        "retry_delay": dt.timedelta(minutes=5),
    },
    params={
        "project_dir": Param("/opt/nps-warehouse", type="string", description="Checkout of nps-warehouse (the dbt project)"),
        "bin_dir": Param("/opt/nps-warehouse/.venv/bin", type="string", description="Folder holding nps-loader and dbt"),
        "profiles_dir": Param("/opt/nps-warehouse", type="string", description="Folder holding profiles.yml"),
        "dbt_target": Param("dev", type="string", description="dbt target (dev, postgres, redshift)"),
        "source_url": Param("", type="string", description="mysql://user@host:3306/db (no password)"),
        "source_conn_id": Param("", type="string", description="Airflow connection holding the source password"),
        "lake_url": Param("./lake", type="string", description="s3://bucket/prefix or a folder"),
    },
    tags=["nps", "dbt"],
) as dag:
    bin_dir = setting("bin_dir")
    common = {
        "cwd": setting("project_dir"),
        "append_env": True,
        "env": {
            "NPS_SOURCE_URL": setting("source_url"),
            "NPS_LAKE_URL": setting("lake_url"),
            "DBT_TARGET": setting("dbt_target"),
            "DBT_PROFILES_DIR": setting("profiles_dir"),
            "NPS_SOURCE_PASSWORD": (
                "{% set conn_id = var.value.get('nps_source_conn_id', params.source_conn_id) %}"
                "{{ conn.get(conn_id).password if conn_id else '' }}"
            ),
        },
    }
    extract = BashOperator(task_id="extract", bash_command=f"{bin_dir}/nps-loader extract --date {{{{ ds }}}} --json", **common)
    load = BashOperator(task_id="load", bash_command=f"{bin_dir}/nps-loader load --date {{{{ ds }}}} --json", **common)
    dbt_build = BashOperator(
        task_id="dbt_build",
        bash_command=f"{bin_dir}/dbt build --vars '{{run_date: {{{{ ds }}}}}}'",
        **common,
    )
    verify = BashOperator(task_id="verify", bash_command=f"{bin_dir}/nps-loader verify --date {{{{ ds }}}} --json", **common)

    extract >> load >> dbt_build >> verify
