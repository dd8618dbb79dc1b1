"""The whole pipeline through the real CLI and dbt, on every combination of warehouse, source
and lake: marts equal the oracle computed straight from the source."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from loader.dates import parse_lookback
from loader.demo import Event, generate_events, state_as_of
from tests.support.commands import cli, dbt_cli
from tests.support.harness import Stack
from tests.support.oracle import expected_marts
from tests.support.sources import SqliteSource
from tests.support.stacks import StackFactory, make_factory

START = dt.date(2021, 6, 1)


@pytest.mark.slow
def test_history_through_cli_and_dbt_build_equals_oracle(
    stack_factory: StackFactory, tmp_path: Path
) -> None:
    stack, source = stack_factory(tmp_path)
    days = 40
    last = START + dt.timedelta(days=days - 1)
    if isinstance(source, SqliteSource):
        cli(
            stack,
            None,
            "demo-source",
            "--path",
            str(source.path),
            "--days",
            str(days),
            "--per-day",
            "80",
            "--seed",
            "7",
        )
    else:
        source.write(state_as_of(generate_events(7, START, days, 80), None).values())

    out = cli(
        stack, source, "backfill", "--start", str(START), "--end", str(last - dt.timedelta(days=1))
    )
    assert f"backfilled {days - 1} days" in out.stdout
    dbt_cli(stack, "build")
    cli(stack, source, "run", "--date", str(last))
    dbt_cli(stack, "run", "--vars", f"{{run_date: {last}}}")

    rows = source.rows()
    expected = expected_marts(rows)
    actual = stack.read_marts()
    assert actual.daily == expected.daily
    assert actual.monthly == expected.monthly
    assert actual.daily_intervals == expected.daily_intervals
    assert actual.monthly_intervals == expected.monthly_intervals
    assert actual.monthly_changes == expected.monthly_changes
    assert actual.rolling == expected.rolling
    assert actual.rejected == expected.rejected
    assert actual.responses == expected.responses
    assert expected.rejected and any(r[3] for r in rows), (
        "the history lacks invalid or deleted rows"
    )

    verified = cli(stack, source, "verify", "--start", str(START), "--end", str(last))
    assert "match the source" in verified.stdout


@pytest.mark.slow
def test_late_update_and_delete_restate_the_old_day(
    stack_factory: StackFactory, tmp_path: Path
) -> None:
    """Loaded, summarised, then changed in production days later: the old day is restated."""
    stack, source = stack_factory(tmp_path)
    day = dt.datetime(2021, 9, 2, 10)
    events = [
        Event(1, day, day, False, 10, day),
        Event(2, day, day + dt.timedelta(hours=1), False, 9, day + dt.timedelta(hours=1)),
        Event(3, day, day + dt.timedelta(hours=2), False, 0, day + dt.timedelta(hours=2)),
        Event(
            4,
            day + dt.timedelta(days=1),
            day + dt.timedelta(days=1),
            False,
            8,
            day + dt.timedelta(days=1),
        ),
    ]
    source.write(events)
    for d in (dt.date(2021, 9, 2), dt.date(2021, 9, 3)):
        stack.run_day(source, d)
        stack.dbt("run", "--vars", f"{{run_date: {d}}}")
    assert stack.read_marts().daily[dt.date(2021, 9, 2)][:4] == (3, 2, 0, 1)

    later = dt.datetime(2021, 9, 20, 8)
    events += [
        Event(1, day, later, True, 10, later),  # deleted 18 days later
        Event(
            3, day, later + dt.timedelta(minutes=1), False, 7, later + dt.timedelta(minutes=1)
        ),  # corrected
    ]
    source.write(state_as_of(events, None).values())
    stack.run_day(source, dt.date(2021, 9, 20))
    stack.dbt("run", "--vars", "{run_date: 2021-09-20}")

    marts = stack.read_marts()
    assert marts == expected_marts(source.rows())
    assert marts.daily[dt.date(2021, 9, 2)][:4] == (2, 1, 1, 0)
    assert 1 not in marts.responses


@pytest.mark.slow
def test_same_source_gives_identical_marts_on_duckdb_and_postgres(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    duck, source = make_factory("duckdb-mysql-s3", request)(tmp_path / "duck")
    pg, _ = make_factory("postgres-mysql-s3", request)(tmp_path / "pg")
    source.write(state_as_of(generate_events(23, START, 10, 60), None).values())
    for stack in (duck, pg):
        for offset in range(10):
            stack.run_day(source, START + dt.timedelta(days=offset))
        stack.dbt("build")
    assert duck.read_marts() == pg.read_marts() == expected_marts(source.rows())


@pytest.mark.slow
@pytest.mark.parametrize("lookback", ["1h", "0"])
def test_daily_runs_as_production_sees_them(
    duckdb_stack: Stack, tmp_path: Path, lookback: str
) -> None:
    """Each day is run at 00:30 the next morning, while late transactions are still committing.

    With the default 1h lookback a row stamped 23:50 that commits at 00:40 is picked up by the
    next day's extract; with no lookback it is lost, which is why the lookback exists.
    """
    source = SqliteSource(tmp_path / "source.db")
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
        source.write(
            state_as_of(
                events, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 30))
            ).values()
        )
        duckdb_stack.run_day(source, day, parse_lookback(lookback))
        duckdb_stack.dbt("run", "--vars", f"{{run_date: {day}}}")

    expected = expected_marts(source.rows())
    actual = duckdb_stack.read_marts()
    if lookback == "1h":
        assert actual == expected
    else:
        assert set(expected.responses) - set(actual.responses), (
            "without a lookback, late commits are missed"
        )
