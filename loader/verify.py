"""Verify ``nps_summary_daily`` against the source day by day (days of the reporting zone).

Every day of the range is *matching*, *differing* or *not loaded* (no day load covers it: a hole
between loaded days, or a day before the first or after the newest; loader/loaded_days.py).
Every source row created on a loaded day is accounted for, by the local day of its ``created_at``:

- counted: its cursor is before the cutoff (the newest loaded window's end), so the warehouse
  has its current version; valid, not-deleted rows are counted per category;
- not loaded yet: its cursor is at or after the cutoff (and not in the future), so it is left
  out on both sides instead of being reported as a difference;
- unaccounted: its cursor is NULL or in the future. No day's extract reads such a row, so the
  warehouse cannot match the source; the day is reported, whatever its counts say. A row whose
  cursor is NULL that reconcile has brought in as the source holds it is accounted for (counted),
  so verify and reconcile agree.

The source is read with the loader's own reader (the same time-zone conversion as the extract),
streamed batch by batch and counted as it arrives, so memory stays flat however many rows the
range holds. The read is by ``created_at``: index it (see docs/operations.md).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pyarrow.compute

from loader.dates import day_range, runs_of_days, utc_now
from loader.errors import ConfigError
from loader.fingerprint import DayPrint, equal_days
from loader.loaded_days import LoadedDays, loaded_days
from loader.settings import Settings
from loader.source_tally import (
    CATEGORIES,
    SourceTally,
    account_for_null_cursors,
    tally,
    unaccounted_line,
)
from loader.table_names import TableNames
from loader.warehouse import Certificate, id_ranges

pc: Any = pyarrow.compute  # the compute stubs do not type scalar comparisons well

#: Where the runbook says what to do when verify fails.
RUNBOOK = "docs/operations.md, Runbook: 'verify failed'"


@dataclass(frozen=True)
class VerifyResult:
    """``mismatches``: one line per day that differs or is not loaded (empty when every day
    matches)."""

    mismatches: list[str]
    days: list[dt.date]  # the loaded days that differ, oldest first
    last_loaded: dt.date | None = None  # the newest run date in raw.nps_loads
    not_loaded: list[dt.date] = field(default_factory=list)
    #: the commands that load the days that are not loaded
    load_commands: list[str] = field(default_factory=list)
    #: the days proven equal to the source (certified in raw.nps_certifications)
    matching: list[dt.date] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def next_steps(self) -> list[str]:
        """What to run: load the days that are not loaded, reconcile the days that differ."""
        steps = []
        if self.not_loaded:
            steps.append(
                f"next: load the days that are not loaded ({'; '.join(self.load_commands)}), "
                f"then dbt run, then verify again ({RUNBOOK})"
            )
        if self.days:
            first, last = self.days[0], self.days[-1]
            steps.append(
                f"next: nps-loader reconcile --start {first} --end {last} names the ids behind "
                "it (deleted from the source, rewritten, never loaded); add --apply to correct "
                f"them, then dbt run, then verify again ({RUNBOOK})"
            )
        return steps


def verify_days(settings: Settings, first: dt.date, last: dt.date) -> VerifyResult:
    """Compare every day of ``first..last``; one line per day that differs or is not loaded."""
    spec = settings.require_source()
    names = TableNames.of(settings)
    started = utc_now()  # a certificate holds from before the marts were read
    warehouse = settings.warehouse()
    zone = settings.reporting_timezone
    try:
        # One row is enough: every row of the current state carries the zone it was built in.
        for (built,) in warehouse.query(
            f"select _reporting_timezone from {names.current_state} limit 1", ()
        ):
            if built != zone:
                raise ConfigError(
                    f"the marts count days of {built} but verify was asked for days of {zone}: "
                    f"set --reporting-timezone / NPS_REPORTING_TIMEZONE to {built}"
                )
        loaded = loaded_days(warehouse, names, zone, first, last)
        loaded.check_source_zone(spec.source_timezone, "verify")
        # Days whose fingerprints agree are proven without reading their rows; the others are
        # counted from the source, a run of consecutive days per read.
        equal = _fingerprinted(settings, warehouse, names, first, last)
        counted = [d for d in day_range(first, last) if d not in equal and d in loaded.days]
        source = SourceTally()
        for run_first, run_last in runs_of_days(counted):
            tally(spec, run_first, run_last, zone, loaded.cutoff, into=source)
        mart: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for day, promoters, passives, detractors in warehouse.query(
            "select response_date, promoters, passives, detractors "
            f"from {names.summary_daily} where response_date between %s and %s",
            (first, last),
        ):
            mart[str(day)[:10]] = [int(promoters), int(passives), int(detractors)]
        # changed after the newest loaded window: not loaded yet, left out of the marts' side
        changed = source.changed_ids
        stored_changed = (
            warehouse.query_with_ids(
                f"select response_date, category from {names.responses} "
                f"where {id_ranges(changed, 'id')} and id in (select id from {{ids}})",
                changed,
            )
            if changed
            else []
        )
        for day, category in stored_changed:
            mart[str(day)[:10]][CATEGORIES[category]] -= 1
        nulls = sorted(source.null_cursor_rows)
        if nulls:
            stored = warehouse.query_with_ids(
                f"select id, created_at, is_deleted, score from {names.current_state} "
                f"where modified is null and {id_ranges(nulls, 'id')} "
                f"and id in (select id from {{ids}})",
                nulls,
            )
            account_for_null_cursors(source, stored)
        lines, days, not_loaded, matching = _report(first, last, loaded, source, mart, equal)
        warehouse.certify(
            [
                Certificate(
                    date,
                    zone,
                    "fingerprint",
                    equal[date].rows,
                    equal[date].digest,
                    started,
                    "verify",
                )
                if date in equal
                else Certificate(
                    date,
                    zone,
                    "counts",
                    sum(source.counts.get(str(date), [])),
                    None,
                    started,
                    "verify",
                )
                for date in matching
            ]
        )
    finally:
        warehouse.close()
    return VerifyResult(
        lines, days, loaded.newest, not_loaded, loaded.load_commands(not_loaded), matching
    )


def _fingerprinted(
    settings: Settings, warehouse: Any, names: TableNames, first: dt.date, last: dt.date
) -> dict[dt.date, DayPrint]:
    """The days whose fingerprint in the source equals the current state's, once the daily
    counts have counted everything the current state holds (so the published counts are the
    current state's); else none."""
    ((counted,),) = warehouse.query(f"select max(_batch_at) from {names.daily_counts}", ())
    if counted is None or warehouse.query(
        f"select 1 from {names.current_state} where _batch_at > %s limit 1", (counted,)
    ):
        return {}
    return equal_days(
        settings.require_source(),
        warehouse,
        settings.warehouse_target().type,
        names.current_state,
        first,
        last,
        settings.reporting_timezone,
    )


def _report(
    first: dt.date,
    last: dt.date,
    loaded: LoadedDays,
    source: SourceTally,
    mart: dict[str, list[int]],
    equal: dict[dt.date, DayPrint],
) -> tuple[list[str], list[dt.date], list[dt.date], list[dt.date]]:
    """The lines of the days that differ or are not loaded; those days; the matching days."""
    lines: list[str] = []
    days: list[dt.date] = []
    not_loaded: list[dt.date] = []
    matching: list[dt.date] = []
    for date in day_range(first, last):
        day = date.isoformat()
        why = loaded.why_not_loaded(date)
        if why is None and date in equal:
            matching.append(date)
            continue
        if why is not None:
            lines.append(f"{day}: not loaded ({why}): {loaded.load_commands([date])[0]}")
            not_loaded.append(date)
            continue
        want, got = source.counts.get(day, [0, 0, 0]), mart.get(day, [0, 0, 0])
        day_lines = []
        if want != got:
            day_lines.append(
                f"{day}: source has promoters/passives/detractors {want[0]}/{want[1]}/{want[2]}, "
                f"nps_summary_daily has {got[0]}/{got[1]}/{got[2]}"
            )
        if day in source.unaccounted:
            day_lines.append(unaccounted_line(day, source.unaccounted[day]))
        if day_lines:
            lines += day_lines
            days.append(date)
        else:
            matching.append(date)
    return lines, days, not_loaded, matching


def _as_date(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    return dt.date.fromisoformat(str(value)[:10])
