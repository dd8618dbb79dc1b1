"""The core promise, as a property: any order of daily runs, re-runs and backfills, with the
source changing in between, ends in marts equal to the oracle and to ``dbt run --full-refresh``.

Run in three zones (the source's DATETIME values and the reporting days both in that zone):
UTC, Asia/Seoul (days start at 15:00 UTC) and America/New_York, whose generated history
contains the 25-hour day of 2021-11-07.
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loader.demo import Event, state_as_of
from tests.support.harness import Stack
from tests.support.oracle import expected_marts
from tests.support.sources import TestSource
from tests.support.stacks import StackFactory, make_factory

DAY0 = dt.date(2021, 9, 14)
#: the first generated day per zone: New York's history spans its fall-back day, 2021-11-07
FIRST_DAY = {"UTC": DAY0, "Asia/Seoul": DAY0, "America/New_York": dt.date(2021, 11, 6)}
N_DAYS = 3
EXAMPLES = int(os.environ.get("NPS_PROPERTY_EXAMPLES", "10"))

# One change to one row: (id, day offset, minute of day, kind, score, commits late?)
change = st.tuples(
    st.integers(1, 6),
    st.integers(0, N_DAYS - 1),
    st.integers(0, 24 * 60 - 1),
    st.sampled_from(["update", "update", "delete", "undelete", "move"]),
    st.one_of(st.integers(-1, 11), st.none()),
    st.booleans(),
)


def valid_wall_clock(stamp: dt.datetime, zone: str) -> dt.datetime:
    """Move a wall-clock time out of a DST gap or repeated hour (an application writing local
    time never writes the first, and the second is ambiguous in a DATETIME column)."""
    if zone == "UTC":
        return stamp
    tz = zoneinfo.ZoneInfo(zone)
    while True:
        first = stamp.replace(tzinfo=tz, fold=0)
        second = stamp.replace(tzinfo=tz, fold=1)
        exists = first.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) == stamp
        if exists and first.utcoffset() == second.utcoffset():
            return stamp
        stamp += dt.timedelta(minutes=30)


def build_events(
    changes: list[tuple[Any, ...]], day0: dt.date = DAY0, zone: str = "UTC"
) -> list[Event]:
    """Turn random changes into a valid history: per id, strictly increasing ``modified``,
    the first change an insert; a late commit lands 45 minutes after its stamp. Times are
    wall-clock times of ``zone``."""
    events: list[Event] = []
    by_id: dict[int, list[tuple[Any, ...]]] = {}
    for c in changes:
        by_id.setdefault(c[0], []).append(c)
    for row_id, items in by_id.items():
        items.sort(key=lambda c: (c[1], c[2]))
        created: dt.datetime | None = None
        deleted = False
        previous: dt.datetime | None = None
        for n, (_, day, minute, kind, score, late) in enumerate(items):
            stamp = dt.datetime.combine(day0 + dt.timedelta(days=day), dt.time()) + dt.timedelta(
                minutes=minute
            )
            stamp = valid_wall_clock(stamp, zone)
            if previous is not None and stamp <= previous:
                stamp = valid_wall_clock(previous + dt.timedelta(microseconds=1), zone)
            if n == 0:
                created = None if score == 11 and late else stamp
            elif kind == "delete":
                deleted = True
            elif kind == "undelete":
                deleted = False
            elif (
                kind == "move"
            ):  # created_at corrected to another day: the old day must be restated
                created = valid_wall_clock(stamp - dt.timedelta(days=1), zone)
            lag = dt.timedelta(minutes=45) if late else dt.timedelta(0)
            events.append(Event(row_id, created, stamp, deleted, score, stamp + lag))
            previous = stamp
    return sorted(events, key=lambda e: (e.committed_at, e.id))


# One scheduled run: advance the clock by some hours, run the loader for a day, then maybe dbt.
step = st.tuples(
    st.integers(0, 30),
    st.integers(0, N_DAYS - 1),
    # dbt_only: re-run dbt for a day loaded earlier, whose raw partition may now hold old versions
    st.sampled_from(["run_date", "range", "since_last_run", "no_dbt", "dbt_only"]),
)
DbtModes = list[str]


def dbt_vars(mode: str, day: dt.date, day0: dt.date = DAY0) -> list[str]:
    if mode == "run_date":
        return ["--vars", f"{{run_date: {day}}}"]
    if mode == "range":
        return ["--vars", f"{{start_date: {day0}, end_date: {day}}}"]
    return []


def check_order_independence(
    stack: Stack,
    source: TestSource,
    changes: list[tuple[Any, ...]],
    schedule: list[tuple[int, int, str]],
    final_order: list[int],
    final_modes: DbtModes,
    zone: str = "UTC",
) -> None:
    day0 = FIRST_DAY[zone]
    stack.reporting_timezone = stack.source_timezone = zone
    events = build_events(changes, day0, zone)
    clock = dt.datetime.combine(day0, dt.time())
    newest_seen: dict[int, dt.datetime] = {}
    loaded_any = False

    restatements = Restatements(stack)

    def dbt_run(*args: str) -> None:
        before = restatements.before_run()
        stack.dbt("run", *args)
        # Never, at any point, may an older version replace a newer one.
        for row_id, modified in stack.query(
            f"select id, modified from {stack.schema}.int_nps_responses_current"
        ):
            assert modified >= newest_seen.get(row_id, modified), f"id {row_id} went back in time"
            newest_seen[row_id] = modified
        restatements.check_run(before)

    for hours, day_index, mode in schedule:
        clock += dt.timedelta(hours=hours)
        source.write(state_as_of(events, clock).values())
        day = day0 + dt.timedelta(days=day_index)
        if mode == "dbt_only":
            if loaded_any:
                dbt_run(*dbt_vars("run_date", day, day0))
            continue
        stack.run_day(source, day)
        loaded_any = True
        if mode != "no_dbt":
            dbt_run(*dbt_vars(mode, day, day0))

    # Every day is now run once more after it ended (and after every late commit), in any order.
    source.write(state_as_of(events, None).values())
    for day_index, mode in zip(final_order, final_modes, strict=True):
        day = day0 + dt.timedelta(days=day_index)
        stack.run_day(source, day)
        dbt_run(*dbt_vars(mode, day, day0))

    expected = expected_marts(source.rows(), zone, zone)
    incremental = stack.read_marts()
    assert incremental == expected
    recorded = len(restatements.rows())
    stack.dbt("run", "--full-refresh")
    assert stack.read_marts() == incremental
    stack.dbt("run")
    assert len(restatements.rows()) == recorded, "a full refresh that changes nothing restated"


Key = tuple[str, dt.date]  # (grain, period)
ZERO = (0, 0, 0, 0)


class Restatements:
    """Checks nps_restatements run by run against what the marts showed before and after: a
    day that was ever published and changed has exactly one row, from the numbers it showed to
    the numbers it shows; a month has one when the run restated one of its days and its numbers
    changed (a month that only grew by new days is being reported, not restated); a new day has
    none; each row's reasons add up to its change in responses. So replaying the rows from the
    first published numbers gives today's marts."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.ever: set[Key] = set()  # every period ever published
        self.seen = 0
        self.last: dict[Key, tuple[int, ...]] = {}  # before the first build there are no marts

    def shown(self) -> dict[Key, tuple[int, ...]]:
        out = {}
        for grain, table, column in (
            ("day", "nps_summary_daily", "response_date"),
            ("month", "nps_summary_monthly", "response_month"),
        ):
            for period, *counts in self.stack.query(
                f"select {column}, responses, promoters, passives, detractors "
                f"from {self.stack.schema}.{table}"
            ):
                out[(grain, period)] = tuple(int(c) for c in counts)
        return out

    def rows(self) -> list[tuple[Any, ...]]:
        return self.stack.query(
            "select grain, period, old_responses, old_promoters, old_passives, old_detractors, "
            "new_responses, new_promoters, new_passives, new_detractors, responses_added, "
            "removed_by_delete, removed_as_invalid, moved_from_another_day, moved_to_another_day "
            f"from {self.stack.schema}.nps_restatements order by restated_at, grain, period"
        )

    def before_run(self) -> dict[Key, tuple[int, ...]]:
        # only dbt changes the marts: they show what they showed after the last run
        return self.last

    def check_run(self, before: dict[Key, tuple[int, ...]]) -> None:
        after = self.shown()
        rows = self.rows()
        new_rows, self.seen = rows[self.seen :], len(rows)
        got = {(g, p): (tuple(n[:4]), tuple(n[4:8])) for g, p, *n in new_rows}
        assert len(got) == len(new_rows), f"a period restated twice in one run: {new_rows}"
        expected_days = {
            key: (before.get(key, ZERO), after.get(key, ZERO))
            for key in self.ever
            if key[0] == "day" and before.get(key, ZERO) != after.get(key, ZERO)
        }
        months_of_restated_days = {key[1].replace(day=1) for key in expected_days}
        expected_months = {
            key: (before.get(key, ZERO), after.get(key, ZERO))
            for key in self.ever | set(after)
            if key[0] == "month"
            and key[1] in months_of_restated_days
            and before.get(key, ZERO) != after.get(key, ZERO)
        }
        assert got == expected_days | expected_months
        for _, _, *n in new_rows:
            old, new, reasons = n[:4], n[4:8], n[8:]
            if reasons[0] is not None:
                added, deleted, invalid, moved_in, moved_out = reasons
                assert new[0] - old[0] == added - deleted - invalid + moved_in - moved_out, n
        self.ever |= set(after)
        self.last = after


EXAMPLES_PER_COMBO = {
    "duckdb-sqlite-local": EXAMPLES,
    "duckdb-mysql-s3": max(2, EXAMPLES // 2),
    "postgres-mysql-s3": max(2, EXAMPLES * 2 // 3),
}
ZONES = ["UTC", "Asia/Seoul", "America/New_York"]


def examples(combo: str, zone: str) -> int:
    """Full weight in UTC; in the other zones half as many on the embedded stack and a third
    on the server stacks (the zone changes only the day boundaries)."""
    if zone == "UTC":
        return EXAMPLES_PER_COMBO[combo]
    divisor = 2 if combo == "duckdb-sqlite-local" else 3
    return max(2, EXAMPLES_PER_COMBO[combo] // divisor)


def order_independence_property(
    make: StackFactory, tmp_path: Path, zone: str, max_examples: int
) -> None:
    """The property over ``max_examples`` hypothesis examples, each on a new stack."""
    counter = iter(range(10**6))

    @settings(max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        changes=st.lists(change, min_size=1, max_size=14),
        schedule=st.lists(step, max_size=6),
        final_order=st.permutations(range(N_DAYS)),
        final_modes=st.lists(
            st.sampled_from(["run_date", "range", "since_last_run"]),
            min_size=N_DAYS,
            max_size=N_DAYS,
        ),
    )
    def run(
        changes: list[tuple[Any, ...]],
        schedule: list[tuple[int, int, str]],
        final_order: list[int],
        final_modes: DbtModes,
    ) -> None:
        stack, source = make(tmp_path / f"ex{next(counter)}")
        check_order_independence(stack, source, changes, schedule, final_order, final_modes, zone)

    run()


@pytest.mark.slow
@pytest.mark.parametrize("zone", ZONES)
def test_any_order_of_runs_equals_oracle_and_full_refresh(
    stack_factory: StackFactory, request: pytest.FixtureRequest, tmp_path: Path, zone: str
) -> None:
    combo = request.node.callspec.params["stack_factory"]
    order_independence_property(stack_factory, tmp_path, zone, examples(combo, zone))


#: On the emulated Redshift (dbt-redshift's materializations, COPY from S3): a few examples, in
#: UTC and in a zone whose days convert_timezone draws (redshift__nps_local_timestamp).
REDSHIFT_EXAMPLES = {"UTC": max(2, EXAMPLES // 3), "Asia/Seoul": 2}


@pytest.mark.slow
@pytest.mark.parametrize("zone", sorted(REDSHIFT_EXAMPLES))
def test_any_order_of_runs_on_redshift_equals_oracle_and_full_refresh(
    request: pytest.FixtureRequest, tmp_path: Path, zone: str
) -> None:
    make = make_factory("redshift-mysql-s3", request)
    order_independence_property(make, tmp_path, zone, REDSHIFT_EXAMPLES[zone])
