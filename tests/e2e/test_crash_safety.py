"""SIGKILL the loader and dbt at random moments: the warehouse is always exactly as it was before
or after, never in between, and a re-run converges to the clean result."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from loader.demo import generate_events, state_as_of
from tests.support.commands import spawn
from tests.support.harness import ROOT, Stack
from tests.support.oracle import expected_marts
from tests.support.sources import TestSource
from tests.support.stacks import make_factory

DAY = dt.date(2021, 6, 1)
TRIALS = int(os.environ.get("NPS_CRASH_TRIALS", "20"))
ROWS_PER_DAY = 40_000


def day_rows(stack: Stack) -> tuple[list[tuple[Any, ...]], int]:
    rows = stack.query(
        f"select id, modified, deleted, score from {stack.raw_schema}.nps where _run_date = '{DAY}' order by id"
    )
    loads = stack.query(f"select count(*) from {stack.raw_schema}.nps_loads")[0][0]
    return [tuple(r) for r in rows], int(loads)


def source_window(source: TestSource) -> list[tuple[Any, ...]]:
    start = dt.datetime.combine(DAY, dt.time()) - dt.timedelta(hours=1)
    end = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time())
    return sorted((r[0], r[2], r[3], r[4]) for r in source.rows() if start <= r[2] < end)


def timed_run(stack: Stack, source: TestSource) -> float:
    started = time.monotonic()
    proc = spawn(stack, source, "run", "--date", str(DAY))
    assert proc.wait() == 0, proc.stderr.read() if proc.stderr else ""
    return time.monotonic() - started


@pytest.mark.slow
@pytest.mark.parametrize("combo", ["duckdb-sqlite-local", "postgres-mysql-s3"])
def test_sigkill_during_extract_or_load(
    combo: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    stack, source = make_factory(combo, request)(tmp_path)
    source.write(state_as_of(generate_events(0, DAY, 1, ROWS_PER_DAY), None).values())
    duration = timed_run(stack, source)
    rng = random.Random(combo)
    outcomes = {"before": 0, "after": 0}
    for trial in range(1, TRIALS + 1):
        before = day_rows(stack)
        source.write(state_as_of(generate_events(trial, DAY, 1, ROWS_PER_DAY), None).values())
        after_rows = source_window(source)
        proc = spawn(stack, source, "run", "--date", str(DAY))
        time.sleep(rng.uniform(0.05, duration * 1.05))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        state = day_rows(stack)
        if state == before:
            outcomes["before"] += 1
        else:
            assert state == (after_rows, before[1] + 1), f"trial {trial}: a half-loaded day"
            outcomes["after"] += 1
        timed_run(stack, source)  # the re-run converges
        assert day_rows(stack)[0] == after_rows
    print(f"\n{combo}: {TRIALS} SIGKILLs over a {duration:.2f}s run: {outcomes}")
    assert outcomes["before"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("combo", ["duckdb-sqlite-local", "postgres-mysql-s3"])
def test_sigkill_during_dbt_run_then_rerun(
    combo: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    stack, source = make_factory(combo, request)(tmp_path)
    events = generate_events(1, DAY, 6, 3000)
    days = [DAY + dt.timedelta(days=n) for n in range(6)]
    source.write(state_as_of(events, None).values())
    for day in days[:2]:
        stack.run_day(source, day)
    stack.dbt("run")
    dbt = str(Path(sys.executable).with_name("dbt"))
    env = {**os.environ, **stack.full_env}
    rng = random.Random(combo)
    for day in days[2:]:
        stack.run_day(source, day)
        proc = subprocess.Popen(
            [dbt, *stack.dbt_args("run", "--vars", f"{{run_date: {day}}}")],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(2.0, 4.5))  # start-up takes ~2s; models run after it
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        rerun = stack.dbt("run", "--vars", f"{{run_date: {day}}}", expect_success=False)
        if not rerun.success:
            # killed after it took the run lock (PostgreSQL): the re-run says so in one line,
            # and the operator removes the crashed run's lock as that line says
            said = [str(rerun.exception)] + [
                str(r.message) for r in getattr(rerun.result, "results", None) or []
            ]
            assert any("another dbt run of this project is in progress" in m for m in said), said
            stack.query(f"delete from {stack.schema}.nps_run_lock")
            stack.dbt("run", "--vars", f"{{run_date: {day}}}")
    # every day loaded and run: the marts are exactly the oracle's over those days
    expected = expected_marts([r for r in source.rows() if r[2].date() <= days[-1]])
    assert stack.read_marts() == expected
