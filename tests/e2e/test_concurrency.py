"""Concurrent writers are serialised; concurrent readers never see a broken state."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from loader.demo import generate_events, state_as_of
from tests.support.commands import spawn
from tests.support.stacks import make_factory

DAY = dt.date(2021, 6, 1)


@pytest.mark.slow
@pytest.mark.parametrize("combo", ["duckdb-sqlite-local", "postgres-mysql-s3"])
def test_concurrent_loaders_are_serialised_never_duplicated(
    combo: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    stack, source = make_factory(combo, request)(tmp_path)
    source.write(state_as_of(generate_events(3, DAY, 2, 20_000), None).values())
    second = DAY + dt.timedelta(days=1)
    for days in ([DAY, DAY, DAY], [DAY, second, DAY, second]):
        procs = [spawn(stack, source, "run", "--date", str(d)) for d in days]
        for proc in procs:
            assert proc.wait() == 0, proc.stderr.read() if proc.stderr else ""
        for d in set(days):
            total, distinct, extracts = stack.query(
                f"select count(*), count(distinct id), count(distinct _extract_id) "
                f"from {stack.raw_schema}.nps where _run_date = '{d}'"
            )[0]
            assert total == distinct and extracts == 1, (
                f"{d}: {total} rows for {distinct} ids from {extracts} extracts"
            )


def poll_marts(env: dict[str, str], schema: str, done: Any, results: Any) -> None:
    """The reader: polls the marts in one snapshot per poll until ``done`` is set.

    It runs in a process of its own, as a real reader would. On a thread of the test's process
    it once crashed the interpreter: a segmentation fault in psycopg2's connect while the
    in-process loader worked on the main thread (psycopg2-binary bundles its own libpq and
    OpenSSL, known to crash beside other users of OpenSSL in one process: psycopg/psycopg2#543).
    """
    import psycopg2

    s = schema
    problems: list[str] = []
    polls = 0
    conn = psycopg2.connect(
        host=env["NPS_PG_HOST"],
        port=int(env["NPS_PG_PORT"]),
        user=env["NPS_PG_USER"],
        password=env["NPS_PG_PASSWORD"],
        dbname=env["NPS_PG_DATABASE"],
    )
    conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
    try:
        while not done.is_set():
            with conn, conn.cursor() as cur:  # one snapshot per poll
                cur.execute(f"select count(*) - count(distinct id) from {s}.fct_nps_responses")
                duplicates = cur.fetchone()
                cur.execute(
                    f"select count(*) from {s}.fct_nps_responses as f join {s}.int_nps_responses_current as c "
                    "on f.id = c.id where c.is_deleted or c.reject_reason is not null"
                )
                leaked = cur.fetchone()
                cur.execute(
                    f"select m.response_month, m.responses, d.responses from {s}.nps_summary_monthly as m "
                    f"full join (select cast(date_trunc('month', response_date) as date) as response_month, "
                    f"sum(responses) as responses from {s}.nps_summary_daily group by 1) as d "
                    "on m.response_month = d.response_month "
                    "where m.responses is distinct from d.responses"
                )
                disagreeing: list[Any] = cur.fetchall()
            polls += 1
            if duplicates and duplicates[0]:
                problems.append(f"{duplicates[0]} duplicate ids")
            if leaked and leaked[0]:
                problems.append(f"{leaked[0]} deleted or invalid responses in fct")
            if disagreeing:
                problems.append(f"months disagree with their days: {disagreeing}")
    finally:
        conn.close()
        results.put((polls, problems[:5], len(problems)))


@pytest.mark.slow
def test_readers_never_see_a_broken_state_while_loads_and_dbt_runs_go_on(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    stack, source = make_factory("postgres-mysql-s3", request)(tmp_path)
    days = [DAY + dt.timedelta(days=n) for n in range(8)]
    events = generate_events(9, DAY, len(days), 400)
    source.write(state_as_of(events, None).values())
    stack.run_day(source, days[0])
    stack.dbt("run")

    spawn_context = multiprocessing.get_context("spawn")
    done = spawn_context.Event()
    results = spawn_context.Queue()
    reader = spawn_context.Process(  # daemon: a hung reader cannot hold pytest open at exit
        target=poll_marts, args=(dict(stack.env), stack.schema, done, results), daemon=True
    )
    reader.start()
    try:
        for day in days[1:]:
            stack.run_day(source, day)
            stack.dbt("run", "--vars", f"{{run_date: {day}}}")
        stack.dbt("run", "--full-refresh")
        stack.run_day(source, days[0])
        stack.dbt("run")
    finally:
        done.set()
        reader.join(timeout=120)
    assert reader.exitcode == 0, f"the reader process failed (exit code {reader.exitcode})"
    polls, problems, count = results.get(timeout=10)
    print(f"\nconcurrent reader: {polls} consistent snapshots polled, {count} problems")
    assert polls > 20, f"the reader only polled {polls} times"
    assert not problems, problems


@pytest.mark.slow
def test_a_load_that_waited_for_the_lock_loads_the_extract_the_lake_names(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Load A waits for the load lock; meanwhile extract B replaces the day's manifest. When A
    gets the lock it must load B (what the lake names), stamped after its wait: not the extract
    the manifest named when A started, with a stamp from before the wait."""
    import json
    import time

    from loader.warehouse.postgres import LOAD_LOCK_KEY
    from tests.support.commands import cli

    stack, source = make_factory("postgres-sqlite-local", request)(tmp_path)
    source.write(state_as_of(generate_events(5, DAY, 1, 200), None).values())
    cli(stack, source, "run", "--date", str(DAY))  # the raw tables exist
    cli(stack, source, "extract", "--date", str(DAY))  # an extract not loaded yet
    manifest = Path(stack.lake) / "nps" / f"run_date={DAY}" / "_manifest.json"
    with stack.connect() as holder:
        holder.autocommit = True
        with holder.cursor() as cur:
            cur.execute("select pg_advisory_lock(%s)", (LOAD_LOCK_KEY,))
            first = spawn(stack, source, "load", "--date", str(DAY))
            waiting = False
            deadline = time.monotonic() + 60
            while not waiting and time.monotonic() < deadline:
                cur.execute(
                    "select count(*) from pg_locks where locktype = 'advisory' and not granted"
                )
                waiting = cur.fetchone()[0] == 1
                time.sleep(0.05)
            assert waiting, "load A never reached the load lock"
            cli(stack, source, "extract", "--date", str(DAY))  # B replaces the manifest
            b_id = json.loads(manifest.read_text())["extract_id"]
            released = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            cur.execute("select pg_advisory_unlock(%s)", (LOAD_LOCK_KEY,))
        assert first.wait(60) == 0, first.stderr.read() if first.stderr else ""
    loaded = stack.query(
        f"select distinct _extract_id, _loaded_at from {stack.raw_schema}.nps "
        f"where _run_date = '{DAY}'"
    )
    assert [row[0] for row in loaded] == [b_id]
    assert loaded[0][1] >= released


@pytest.mark.slow
def test_two_dbt_runs_at_once_never_race_and_a_crashed_runs_lock_expires(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    from tests.support.commands import cli, dbt_cli, dbt_process

    stack, source = make_factory("postgres-sqlite-local", request)(tmp_path)
    source.write(state_as_of(generate_events(8, DAY, 3, 300), None).values())
    cli(stack, source, "backfill", "--start", str(DAY), "--end", str(DAY + dt.timedelta(days=2)))
    dbt_cli(stack, "run")
    lock = f"{stack.schema}.nps_run_lock"
    assert stack.query(f"select count(*) from {lock}") == [(0,)]  # released at the end

    # a run in progress (its last model reported a minute ago): the next one fails in one line
    stack.query(
        f"insert into {lock} values ('other-run', 'run', now() - interval '5 minutes', "
        "now() - interval '1 minute')"
    )
    busy = dbt_process(stack, "run")
    assert busy.returncode != 0
    errors = [line for line in busy.stdout.splitlines() if "another dbt run" in line]
    assert len(errors) == 1 and "invocation other-run" in errors[0], busy.stdout[-2000:]
    # the lock of a run that crashed expires: it blocks no run forever
    stack.query(f"update {lock} set heartbeat_at = now() - interval '61 minutes'")
    dbt_cli(stack, "run")
    assert stack.query(f"select count(*) from {lock}") == [(0,)]

    # two at once, for real: each succeeds or says another run is in progress; none races
    env = {**os.environ, **stack.full_env}
    dbt = str(Path(sys.executable).with_name("dbt"))
    for _ in range(2):
        runs = [
            subprocess.Popen(
                [dbt, *stack.dbt_args("run", "--full-refresh")],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [(run.wait(120), run.stdout.read() if run.stdout else "") for run in runs]
        for code, out in outputs:
            assert "already exists" not in out, out[-2000:]
            assert code == 0 or "another dbt run of this project is in progress" in out, out[-2000:]
        assert any(code == 0 for code, _ in outputs)
    assert stack.query(f"select count(*) from {lock}") == [(0,)]
