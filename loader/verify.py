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
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute

from loader.dates import UTC, day_range, local_midnight_utc, runs_of_days, utc_now
from loader.errors import ConfigError
from loader.fingerprint import DayPrint, equal_days
from loader.loaded_days import LoadedDays, loaded_days
from loader.settings import Settings
from loader.source import RowFilter, SourceSpec, read_rows
from loader.table_names import TableNames
from loader.warehouse import Certificate, id_ranges

pc: Any = pyarrow.compute  # the compute stubs do not type scalar comparisons well
CATEGORIES = {"promoter": 0, "passive": 1, "detractor": 2}
#: How many ids of each kind of unaccounted row a report names per day.
SHOWN_IDS = 5


@dataclass
class Unaccounted:
    """Source rows of one day that no extract reads: their cursor is NULL or in the future."""

    null_cursor: int = 0
    future_cursor: int = 0
    ids: list[int] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.null_cursor + self.future_cursor


@dataclass
class SourceTally:
    """What the source says about the responses created in a range of days."""

    #: ISO day -> [promoters, passives, detractors]: valid, not-deleted, changed before the cutoff
    counts: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    #: responses changed at or after the cutoff: not loaded yet
    changed_ids: list[int] = field(default_factory=list)
    #: ISO day -> the rows of that day that cannot be accounted for
    unaccounted: dict[str, Unaccounted] = field(default_factory=lambda: defaultdict(Unaccounted))
    #: the rows with a NULL cursor: id -> (ISO day, created_at, deleted, score)
    null_cursor_rows: dict[int, tuple[str, Any, bool, int | None]] = field(default_factory=dict)


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


def local_dates(instants: Any, zone: str) -> Any:
    """Naive UTC timestamps to their calendar dates in ``zone``."""
    if zone == UTC:
        return pc.cast(instants, pa.date32())
    aware = pc.assume_timezone(instants, "UTC").cast(pa.timestamp("us", tz=zone))
    return pc.cast(pc.local_timestamp(aware), pa.date32())


def _ids_by_day(table: Any) -> Iterable[tuple[str, int]]:
    for day, id_ in zip(
        table.column("day").to_pylist(), table.column("id").to_pylist(), strict=True
    ):
        yield str(day), int(id_)


def count_batch(
    tally: SourceTally,
    batch: pa.RecordBatch,
    bounds: tuple[dt.datetime, dt.datetime],
    zone: str,
    cutoff: dt.datetime,
    now: dt.datetime,
) -> None:
    """Fold one batch of source rows (extract schema, UTC) into ``tally``."""
    ts = pa.timestamp("us")
    table: Any = pa.Table.from_batches([batch])
    created = table.column("created_at")
    table = table.filter(
        pc.and_(
            pc.greater_equal(created, pa.scalar(bounds[0], ts)),
            pc.less(created, pa.scalar(bounds[1], ts)),
        )
    )
    table = table.append_column("day", local_dates(table.column("created_at"), zone))
    modified = table.column("modified")
    null_cursor = pc.is_null(modified)
    future = pc.fill_null(pc.greater(modified, pa.scalar(now, ts)), False)
    nulls = table.filter(null_cursor)
    for id_, day, created, deleted, score in zip(
        nulls.column("id").to_pylist(),
        nulls.column("day").to_pylist(),
        nulls.column("created_at").to_pylist(),
        nulls.column("deleted").to_pylist(),
        nulls.column("score").to_pylist(),
        strict=True,
    ):
        tally.null_cursor_rows[int(id_)] = (str(day), created, bool(deleted), score)
    for mask, kind in ((null_cursor, "null_cursor"), (future, "future_cursor")):
        for day, id_ in _ids_by_day(table.filter(mask)):
            entry = tally.unaccounted[day]
            setattr(entry, kind, getattr(entry, kind) + 1)
            if len(entry.ids) < SHOWN_IDS:
                entry.ids.append(id_)
    known = table.filter(pc.invert(pc.or_(null_cursor, future)))
    late = pc.greater_equal(known.column("modified"), pa.scalar(cutoff, ts))
    tally.changed_ids.extend(int(i) for i in known.filter(late).column("id").to_pylist())
    score = known.column("score")
    current = known.filter(
        pc.and_(
            pc.and_(pc.invert(late), pc.invert(pc.fill_null(known.column("deleted"), False))),
            pc.and_(pc.greater_equal(score, 0), pc.less_equal(score, 10)),
        )
    )
    score = current.column("score")
    grouped = (
        pa.table(
            {
                "day": current.column("day"),
                "p": pc.cast(pc.greater_equal(score, 9), pa.int64()),
                "pa": pc.cast(
                    pc.and_(pc.greater_equal(score, 7), pc.less_equal(score, 8)), pa.int64()
                ),
                "d": pc.cast(pc.less_equal(score, 6), pa.int64()),
            }
        )
        .group_by("day")
        .aggregate([("p", "sum"), ("pa", "sum"), ("d", "sum")])
    )
    for row in grouped.to_pylist():
        counts = tally.counts[str(row["day"])]
        counts[0] += int(row["p_sum"])
        counts[1] += int(row["pa_sum"])
        counts[2] += int(row["d_sum"])


def tally(
    spec: SourceSpec,
    first: dt.date,
    last: dt.date,
    zone: str,
    cutoff: dt.datetime,
    now: dt.datetime | None = None,
    into: SourceTally | None = None,
) -> SourceTally:
    """Account for every source row created on the days ``first..last`` of ``zone`` (added to
    ``into``, if given).

    ``cutoff`` (naive UTC): the end of the newest loaded window; ``now`` (naive UTC, default the
    clock): a cursor after it is in the future.
    """
    now = now or utc_now()
    bounds = local_midnight_utc(first, zone), local_midnight_utc(last + dt.timedelta(days=1), zone)
    result = into if into is not None else SourceTally()
    for batch in read_rows(spec, RowFilter("created_at", *bounds)):
        count_batch(result, batch, bounds, zone, cutoff, now)
    return result


def _unaccounted_line(day: str, entry: Unaccounted) -> str:
    kinds = []
    if entry.null_cursor:
        kinds.append(f"{entry.null_cursor} with a NULL cursor")
    if entry.future_cursor:
        kinds.append(f"{entry.future_cursor} with a cursor in the future")
    shown = ", ".join(str(i) for i in entry.ids) + (" ..." if entry.rows > len(entry.ids) else "")
    rows = "1 source row" if entry.rows == 1 else f"{entry.rows} source rows"
    return (
        f"{day}: {rows} cannot be accounted for ({' and '.join(kinds)}; id {shown}): no day's "
        "extract reads them; fix their cursor in the source"
    )


def _category(score: int | None) -> int | None:
    if score is None or not 0 <= score <= 10:
        return None
    return 0 if score >= 9 else 1 if score >= 7 else 2


def _account_for_null_cursors(source: SourceTally, stored: list[tuple[Any, ...]]) -> None:
    """Rows with a NULL cursor that the warehouse holds as the source does (a reconcile brought
    them in): counted like any row, no longer unaccounted."""
    for id_, created, deleted, score in stored:
        day, want_created, want_deleted, want_score = source.null_cursor_rows[int(id_)]
        if (created, bool(deleted), score) != (want_created, want_deleted, want_score):
            continue
        entry = source.unaccounted[day]
        entry.null_cursor -= 1
        if int(id_) in entry.ids:
            entry.ids.remove(int(id_))
        if entry.rows == 0:
            del source.unaccounted[day]
        category = _category(score)
        if not deleted and category is not None:
            source.counts[day][category] += 1


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
            _account_for_null_cursors(source, stored)
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
            day_lines.append(_unaccounted_line(day, source.unaccounted[day]))
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
