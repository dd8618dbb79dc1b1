"""Certified days, through the command line: verify records a certificate for every day it
proves equal to the source; nps_summary_daily.certified_at shows it until the day is recounted
(a late delete restates one day and clears that day's certificate only); verify sets it again.
nps_summary_monthly.certified_days counts them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from loader.demo import Event, state_as_of
from tests.support.commands import cli, dbt_cli
from tests.support.harness import Stack
from tests.support.stacks import make_factory

D = dt.date(2021, 9, 1)


def at(day: int, hour: int) -> dt.datetime:
    return dt.datetime.combine(D + dt.timedelta(days=day), dt.time(hour))


def certified(stack: Stack) -> dict[dt.date, bool]:
    rows = stack.query(f"select response_date, certified_at from {stack.schema}.nps_summary_daily")
    return {(r[0] if isinstance(r[0], dt.date) else r[0].date()): r[1] is not None for r in rows}


def certified_days(stack: Stack) -> int:
    (row,) = stack.query(f"select certified_days from {stack.schema}.nps_summary_monthly")
    return int(row[0])


@pytest.mark.slow
@pytest.mark.parametrize("combo", ["duckdb-sqlite-local", "postgres-mysql-s3"])
def test_verify_certifies_a_restatement_clears_that_day_only_and_verify_certifies_again(
    combo: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    stack, source = make_factory(combo, request)(tmp_path)
    history = [
        Event(10 * day + k, at(day, 9 + k), at(day, 9 + k), False, (9, 7, 3)[k], at(day, 9 + k))
        for day in range(3)
        for k in range(3)
    ]
    source.write(state_as_of(history, None).values())
    for day in range(3):
        cli(stack, source, "run", "--date", str(D + dt.timedelta(days=day)))
    dbt_cli(stack, "run")
    days = [D + dt.timedelta(days=n) for n in range(4)]
    assert certified(stack) == dict.fromkeys(days[:3], False)

    cli(stack, source, "verify", "--start", str(days[0]), "--end", str(days[2]))
    dbt_cli(stack, "run")  # a run that recounts nothing keeps them
    assert certified(stack) == dict.fromkeys(days[:3], True)
    assert certified_days(stack) == 3
    logged = stack.query(
        f"select response_date, compared, command from {stack.raw_schema}.nps_certifications"
    )
    # every day equal by fingerprint: proven without reading its rows
    assert sorted((str(r[0])[:10], r[1], r[2]) for r in logged) == [
        (str(d), "fingerprint", "verify") for d in days[:3]
    ]

    # day 1's detractor is deleted on day 3; day 3 gets answers of its own
    late = [Event(12, at(1, 11), at(3, 8), True, 3, at(3, 8))]
    late += [Event(30 + k, at(3, 9 + k), at(3, 9 + k), False, 9, at(3, 9 + k)) for k in range(2)]
    source.write(state_as_of(history + late, None).values())
    cli(stack, source, "run", "--date", str(days[3]))
    dbt_cli(stack, "run", "--vars", f"{{run_date: {days[3]}}}")
    assert certified(stack) == {days[0]: True, days[1]: False, days[2]: True, days[3]: False}
    assert certified_days(stack) == 2

    cli(stack, source, "verify", "--start", str(days[0]), "--end", str(days[3]))
    assert certified(stack) == dict.fromkeys(days, True)
    assert certified_days(stack) == 4
