"""dbt on this project tells a day that was loaded empty from one never loaded, and says in one
line to build the models before testing them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.support.commands import cli, dbt_process
from tests.support.harness import Stack
from tests.support.sources import sqlite_source

D = dt.date(2021, 9, 16)
TS = "2021-09-16 10:00:00.000000"


@pytest.mark.slow
def test_dbt_test_before_dbt_run_is_one_line_and_an_empty_day_is_loaded(
    duckdb_stack: Stack, tmp_path: Path
) -> None:
    source = sqlite_source(tmp_path / "src.db", [(1, TS, TS, 0, 9)])
    cli(duckdb_stack, source, "run", "--date", str(D))
    early = dbt_process(duckdb_stack, "test")
    assert early.returncode != 0
    assert "run `dbt run` (or `dbt build`, which runs and tests) before `dbt test`" in early.stdout
    assert "does not exist" not in early.stdout, early.stdout[-3000:]

    empty_day = D + dt.timedelta(days=2)  # the source has no row changed that day
    loaded = cli(duckdb_stack, source, "run", "--date", str(empty_day))
    assert "0 rows" in loaded.stdout
    done = dbt_process(duckdb_stack, "run", "--vars", f"{{run_date: {empty_day}}}")
    assert done.returncode == 0, done.stdout[-2000:]
    assert "no raw rows were loaded" not in done.stdout
    never = dbt_process(duckdb_stack, "run", "--vars", f"{{run_date: {D + dt.timedelta(days=5)}}}")
    assert "no raw rows were loaded for 2021-09-21" in never.stdout
    assert dbt_process(duckdb_stack, "test").returncode == 0
    one_day = cli(duckdb_stack, source, "verify", "--date", str(D))
    assert one_day.stdout.strip() == "verify: 1 day matches the source"
