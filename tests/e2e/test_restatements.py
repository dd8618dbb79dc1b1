"""A record of every restatement, through the command line: a late update, a late delete and
an undelete each leave a row saying what the day and the month showed before and after and why;
a re-run and a --full-refresh that change nothing leave none."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from loader.demo import Event, state_as_of
from tests.support.commands import cli, dbt_cli
from tests.support.harness import Stack
from tests.support.sources import SqliteSource
from tests.support.stacks import new_duckdb_stack

SEP1 = dt.datetime(2021, 9, 1)


def at(day: int, hour: int) -> dt.datetime:
    return SEP1 + dt.timedelta(days=day - 1, hours=hour)


def answer(id_: int, score: int, created: dt.datetime) -> Event:
    return Event(id_, created, created, False, score, created)


def run_day(stack: Stack, source: SqliteSource, day: int) -> None:
    date = dt.date(2021, 9, day)
    cli(stack, source, "run", "--date", str(date))
    dbt_cli(stack, "run", "--vars", f"{{run_date: {date}}}")


def restatements(stack: Stack) -> list[tuple[Any, ...]]:
    return stack.query(
        "select grain, period, old_responses, old_promoters, old_passives, old_detractors, old_nps, "
        "new_responses, new_promoters, new_passives, new_detractors, new_nps, responses_added, "
        "removed_by_delete, removed_as_invalid, moved_between_categories, moved_from_another_day, "
        f"moved_to_another_day from {stack.schema}.nps_restatements order by restated_at, grain"
    )


@pytest.mark.slow
def test_late_changes_are_recorded_with_their_reasons(tmp_path: Path) -> None:
    stack = new_duckdb_stack(tmp_path)
    source = SqliteSource(tmp_path / "source.db")
    # Sep 1: 3 promoters and a detractor (NPS 50.00); Sep 2: a passive
    history = [
        answer(1, 10, at(1, 9)),
        answer(2, 9, at(1, 10)),
        answer(3, 9, at(1, 11)),
        answer(4, 3, at(1, 12)),
        answer(5, 7, at(2, 9)),
    ]
    source.write(state_as_of(history, None).values())
    for day in (1, 2):
        run_day(stack, source, day)
    assert restatements(stack) == [], "a first build and new days restate nothing"

    # Sep 3: id 1's score corrected to 7 (a passive now), id 2 deleted
    history += [
        Event(1, at(1, 9), at(3, 8), False, 7, at(3, 8)),
        Event(2, at(1, 10), at(3, 9), True, 9, at(3, 9)),
    ]
    source.write(state_as_of(history, None).values())
    run_day(stack, source, 3)
    before = (4, 3, 0, 1, Decimal("50.00"))
    after = (3, 1, 1, 1, Decimal("0.00"))
    month_before = (5, 3, 1, 1, Decimal("40.00"))
    month_after = (4, 1, 2, 1, Decimal("0.00"))
    reasons = (0, 1, 0, 1, 0, 0)  # one removed by a delete, one moved to another category
    assert restatements(stack) == [
        ("day", dt.date(2021, 9, 1), *before, *after, *reasons),
        ("month", dt.date(2021, 9, 1), *month_before, *month_after, *reasons),
    ]

    # Sep 4: id 2 undeleted
    history.append(Event(2, at(1, 10), at(4, 8), False, 9, at(4, 8)))
    source.write(state_as_of(history, None).values())
    run_day(stack, source, 4)
    undeleted = (4, 2, 1, 1, Decimal("25.00"))
    added = (1, 0, 0, 0, 0, 0)
    assert restatements(stack)[2:] == [
        ("day", dt.date(2021, 9, 1), *after, *undeleted, *added),
        ("month", dt.date(2021, 9, 1), *month_after, 5, 2, 2, 1, Decimal("20.00"), *added),
    ]

    # nothing new: a re-run of the day, a run without vars and a full refresh record nothing
    run_day(stack, source, 4)
    dbt_cli(stack, "run")
    dbt_cli(stack, "run", "--full-refresh")
    dbt_cli(stack, "run")
    assert len(restatements(stack)) == 4
