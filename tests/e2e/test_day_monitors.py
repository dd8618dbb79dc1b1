"""The day monitors through the command line (nps_day_monitors, the warning test
no_day_looks_broken): a day whose extract carried half its answers is flagged low-volume and
warned about by the run that loads it; an ordinary day is not; re-running the day once the
source is whole re-evaluates the flag."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from loader.demo import Event, state_as_of
from tests.support.commands import cli, dbt_cli
from tests.support.harness import Stack
from tests.support.sources import SqliteSource
from tests.support.stacks import new_duckdb_stack

FIRST = dt.date(2021, 9, 1)
DAYS = 29  # four full weeks before the last day
LAST = FIRST + dt.timedelta(days=DAYS - 1)


def answers(day: dt.date, first_id: int, n: int) -> list[Event]:
    """``n`` answers spread over the day, one in five a detractor, half promoters."""
    start = dt.datetime.combine(day, dt.time(6))
    events = []
    for k in range(n):
        at = start + dt.timedelta(minutes=10 * k)
        score = (10, 9, 3, 8, 10)[k % 5]
        events.append(Event(first_id + k, at, at, False, score, at))
    return events


def flags(stack: Stack, day: dt.date) -> tuple[int, bool, bool]:
    ((responses, low, unusual),) = stack.query(
        f"select responses, is_low_volume, is_unusual_nps from {stack.schema}.nps_day_monitors "
        f"where response_date = '{day}'"
    )
    return int(responses), bool(low), bool(unusual)


@pytest.mark.slow
def test_a_half_loaded_day_is_flagged_and_warned_and_a_rerun_clears_it(tmp_path: Path) -> None:
    stack = new_duckdb_stack(tmp_path)
    source = SqliteSource(tmp_path / "source.db")
    history: list[Event] = []
    for offset in range(DAYS):
        history += answers(FIRST + dt.timedelta(days=offset), 1000 * (offset + 1), 60)
    # the source is short on the last day: the application stopped asking at 10:00
    partial = [e for e in history if e.created_at.date() < LAST or e.created_at.hour < 10]
    source.write(state_as_of(partial, None).values())
    cli(stack, source, "backfill", "--start", str(FIRST), "--end", str(LAST))
    built = dbt_cli(stack, "build")
    assert "Warning in test no_day_looks_broken" in built.stdout
    assert "Got 1 result" in built.stdout, built.stdout[-2000:]
    assert (
        f"nps_day_monitors: WARN {LAST} looks broken: low volume: 24 responses, expected 60.0"
        in built.stdout
    ), "the run's log names the day and why"

    assert flags(stack, LAST) == (24, True, False)
    assert flags(stack, LAST - dt.timedelta(days=1)) == (60, False, False), "an ordinary day"

    # a team that wants the run to stop sets the monitors' severity to error
    from tests.support.commands import dbt_process

    stopped = dbt_process(stack, "build", "--vars", "{nps_monitor_severity: error}")
    assert stopped.returncode != 0
    assert "Failure in test no_day_looks_broken" in stopped.stdout

    # the rest of the day arrives (a late sync): the day's re-run restates it, and the flag goes
    late = dt.datetime.combine(LAST + dt.timedelta(days=1), dt.time(1))
    rest = [
        Event(e.id, e.created_at, late, False, e.score, late)
        for e in history
        if e.created_at.date() == LAST and e.created_at.hour >= 10
    ]
    source.write(state_as_of(partial + rest, None).values())
    cli(stack, source, "run", "--date", str(LAST + dt.timedelta(days=1)))
    rerun = dbt_cli(stack, "build", "--vars", f"{{run_date: {LAST + dt.timedelta(days=1)}}}")
    assert "no_day_looks_broken" in rerun.stdout and "Warning in test" not in rerun.stdout
    assert "looks broken" not in rerun.stdout
    assert flags(stack, LAST) == (60, False, False)
