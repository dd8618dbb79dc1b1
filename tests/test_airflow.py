"""The DAG run by real Airflow (its own venv): one day, then three consecutive days, then a failure."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from loader.demo import generate_events, state_as_of
from tests.conftest import new_duckdb_stack
from tests.harness import ROOT, SqliteSource
from tests.oracle import expected_marts
from tests.servers import unavailable

AIRFLOW = ROOT / ".venv-airflow" / "bin" / "airflow"
START = dt.date(2021, 6, 1)


@pytest.mark.slow
def test_dag_runs_days_with_real_airflow_and_fails_loudly(tmp_path: Path) -> None:
    if not AIRFLOW.exists():
        unavailable("Airflow is not installed in .venv-airflow (make .venv-airflow/.installed)")
    stack = new_duckdb_stack(tmp_path / "wh")
    source = SqliteSource(tmp_path / "source.db")
    source.write(state_as_of(generate_events(31, START, 5, 80), None).values())
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DBT_", "NPS_"))},
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "orchestration" / "airflow" / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "NPS_DAG_RETRIES": "0",
        # the DAG's settings, as an operator would give them: Airflow Variables
        "AIRFLOW_VAR_NPS_PROJECT_DIR": str(ROOT),
        "AIRFLOW_VAR_NPS_BIN_DIR": str(ROOT / ".venv" / "bin"),
        "AIRFLOW_VAR_NPS_PROFILES_DIR": str(stack.profiles_dir),
        "AIRFLOW_VAR_NPS_SOURCE_URL": source.url,
        "AIRFLOW_VAR_NPS_LAKE_URL": stack.lake,
        "NPS_DUCKDB_PATH": stack.env["NPS_DUCKDB_PATH"],
        "DBT_TARGET_PATH": str(tmp_path / "dbt-target"),
        "DBT_LOG_PATH": str(tmp_path / "dbt-logs"),
    }
    subprocess.run([str(AIRFLOW), "db", "migrate"], env=env, check=True, capture_output=True)

    def dags_test(day: dt.date) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(AIRFLOW), "dags", "test", "nps_pipeline", day.isoformat()],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )

    days = [START + dt.timedelta(days=n) for n in range(4)]
    for day in days:  # one day, then three consecutive days
        result = dags_test(day)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert "verify" in result.stdout + result.stderr

    cutoff = dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time())
    expected = expected_marts([r for r in source.rows() if r[2] < cutoff])
    assert stack.read_marts() == expected

    env["AIRFLOW_VAR_NPS_SOURCE_URL"] = "sqlite:///does/not/exist.db"
    failed = dags_test(days[-1] + dt.timedelta(days=1))
    output = failed.stdout + failed.stderr
    assert "SQLite source does/not/exist.db does not exist" in output
    assert failed.returncode != 0, "a failed task must fail the run"
    assert stack.read_marts() == expected
    shutil.rmtree(tmp_path / "airflow", ignore_errors=True)
