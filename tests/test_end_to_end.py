"""From demo-source through the real CLI and dbt to marts that equal the oracle."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loader.dates import parse_lookback
from loader.demo import generate_events, state_as_of, write_sqlite
from tests.harness import ROOT, Stack, source_rows
from tests.oracle import expected_marts

START = dt.date(2021, 6, 1)


def cli(stack: Stack, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **stack.full_env}
    result = subprocess.run(
        [sys.executable, "-m", "loader", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if check and result.returncode != 0:
        raise AssertionError(f"nps-loader {' '.join(args)} failed:\n{result.stderr}")
    return result


def dbt_cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **stack.full_env}
    dbt = str(Path(sys.executable).with_name("dbt"))
    result = subprocess.run(
        [dbt, *stack.dbt_args(*args)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{result.stdout[-3000:]}")
    return result


@pytest.mark.slow
def test_demo_source_through_cli_and_dbt_build_equals_oracle(
    duckdb_stack: Stack, tmp_path: Path
) -> None:
    source = tmp_path / "source.db"
    days = 40
    last = START + dt.timedelta(days=days - 1)
    cli(
        duckdb_stack,
        "demo-source",
        "--path",
        str(source),
        "--days",
        str(days),
        "--per-day",
        "80",
        "--seed",
        "7",
    )
    url = f"sqlite:///{source}"
    out = cli(
        duckdb_stack,
        "backfill",
        "--source",
        url,
        "--start",
        str(START),
        "--end",
        str(last - dt.timedelta(days=1)),
    )
    assert f"backfilled {days - 1} days" in out.stdout
    dbt_cli(duckdb_stack, "build")
    cli(duckdb_stack, "run", "--source", url, "--date", str(last))
    dbt_cli(duckdb_stack, "run", "--vars", f"{{run_date: {last}}}")

    expected = expected_marts(source_rows(source))
    actual = duckdb_stack.read_marts()
    assert actual.daily == expected.daily
    assert actual.monthly == expected.monthly
    assert actual.rejected == expected.rejected
    assert actual.responses == expected.responses
    assert len(expected.rejected) > 0 and any(r[3] for r in source_rows(source)), (
        "demo lacks invalid or deleted rows"
    )

    verified = cli(
        duckdb_stack, "verify", "--source", url, "--start", str(START), "--end", str(last)
    )
    assert "match the source" in verified.stdout


@pytest.mark.slow
@pytest.mark.parametrize("lookback", ["1h", "0"])
def test_daily_runs_as_production_sees_them(
    duckdb_stack: Stack, tmp_path: Path, lookback: str
) -> None:
    """Each day is run at 00:30 the next morning, while late transactions are still committing.

    With the default 1h lookback a row stamped 23:50 that commits at 00:40 is picked up by the
    next day's extract; with no lookback it is lost, which is why the lookback exists.
    """
    source = tmp_path / "source.db"
    url = f"sqlite:///{source}"
    days = 12
    events = generate_events(11, START, days, 120)
    late = [
        e
        for e in events
        if e.committed_at.date() > e.modified.date() and e.committed_at.time() > dt.time(0, 30)
    ]
    assert late, "the generator should produce rows that commit after the 00:30 extract"
    for offset in range(days):
        day = START + dt.timedelta(days=offset)
        as_of = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 30))
        write_sqlite(source, state_as_of(events, as_of).values())
        # in-process, like dbt here: dbt-duckdb keeps the file open in this process
        duckdb_stack.run_day(url, day, parse_lookback(lookback))
        duckdb_stack.dbt("run", "--vars", f"{{run_date: {day}}}")

    expected = expected_marts(source_rows(source))
    actual = duckdb_stack.read_marts()
    if lookback == "1h":
        assert actual == expected
    else:
        missing = set(expected.responses) - set(actual.responses)
        assert missing, "without a lookback, rows committed after the extract should be missed"
