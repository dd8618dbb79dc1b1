"""NPS as a semantic-layer metric: MetricFlow's `nps` by month equals nps_summary_monthly, on
DuckDB (the demo's generator) and on PostgreSQL; `mf validate-configs` passes against each."""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.commands import cli, dbt_cli
from tests.support.harness import ROOT, Stack
from tests.support.servers import Postgres
from tests.support.sources import SqliteSource
from tests.support.stacks import new_duckdb_stack

MF = str(Path(sys.executable).with_name("mf"))
DBT = str(Path(sys.executable).with_name("dbt"))
START = dt.date(2021, 6, 1)
DAYS = 75  # three local months, the last one partial


def project_copy(workdir: Path) -> Path:
    """The dbt project, linked: MetricFlow reads <project>/target/semantic_manifest.json, so
    each warehouse gets a target folder of its own instead of the checkout's."""
    project = workdir / "project"
    project.mkdir()
    for name in ("dbt_project.yml", "models", "macros", "seeds", "tests"):
        (project / name).symlink_to(ROOT / name)
    return project


def mf(stack: Stack, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **stack.full_env, "DBT_PROJECT_DIR": str(project)}
    return subprocess.run(
        [MF, *args], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def warehouse(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Stack, Path]:
    workdir = tmp_path_factory.mktemp(f"mf-{request.param}")
    stack = new_duckdb_stack(workdir)
    if request.param == "postgres":
        pg: Postgres = request.getfixturevalue("postgres")
        stack = Stack(
            target="postgres",
            workdir=workdir,
            env=pg.env("analytics_mf"),
            raw_schema="raw_mf",
            schema="analytics_mf",
            lake=str(workdir / "lake"),
        )
    source = SqliteSource(workdir / "source.db")
    cli(
        stack,
        None,
        "demo-source",
        "--path",
        str(source.path),
        "--days",
        str(DAYS),
        "--per-day",
        "40",
    )
    end = START + dt.timedelta(days=DAYS - 1)
    cli(stack, source, "backfill", "--start", str(START), "--end", str(end))
    # dbt in processes of its own: an in-process dbt would keep the DuckDB file open and lock
    # MetricFlow out of it
    dbt_cli(stack, "build")
    project = project_copy(workdir)
    parsed = subprocess.run(
        [
            DBT,
            "parse",
            "--quiet",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(stack.profiles_dir),
        ],
        env={**os.environ, **stack.full_env},
        capture_output=True,
        text=True,
    )
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    return stack, project


@pytest.mark.slow
def test_mf_validate_configs_passes_against_the_warehouse(warehouse: tuple[Stack, Path]) -> None:
    stack, project = warehouse
    result = mf(stack, project, "validate-configs")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERRORS: 0" in result.stdout and "ERRORS: 1" not in result.stdout


@pytest.mark.slow
def test_mf_nps_by_month_equals_nps_summary_monthly(
    warehouse: tuple[Stack, Path], tmp_path: Path
) -> None:
    stack, project = warehouse
    out = tmp_path / "nps.csv"
    metrics = "nps,responses,promoters,passives,detractors"
    result = mf(
        stack,
        project,
        "query",
        "--metrics",
        metrics,
        "--group-by",
        "metric_time__month",
        "--csv",
        str(out),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with out.open() as f:
        from_mf = {
            row["metric_time__month"][:10]: (
                int(row["responses"]),
                int(row["promoters"]),
                int(row["passives"]),
                int(row["detractors"]),
                Decimal(row["nps"]).quantize(Decimal("0.01")),
            )
            for row in csv.DictReader(f)
        }
    monthly: dict[str, tuple[Any, ...]] = {
        str(r[0]): (int(r[1]), int(r[2]), int(r[3]), int(r[4]), Decimal(r[5]))
        for r in stack.query(
            f"select response_month, responses, promoters, passives, detractors, nps "
            f"from {stack.schema}.nps_summary_monthly"
        )
    }
    assert len(monthly) == 3
    assert from_mf == monthly


@pytest.mark.slow
def test_the_saved_query_is_the_monthly_view(warehouse: tuple[Stack, Path], tmp_path: Path) -> None:
    stack, project = warehouse
    out = tmp_path / "saved.csv"
    result = mf(stack, project, "query", "--saved-query", "nps_monthly", "--csv", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["metric_time__month"][:10] for r in rows) == [
        "2021-06-01",
        "2021-07-01",
        "2021-08-01",
    ]
    assert set(rows[0]) >= {"nps", "responses", "promoters", "passives", "detractors"}
