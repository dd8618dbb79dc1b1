"""``nps-loader reconcile``: find and repair what a cursor-based copy cannot see.

For the responses created on a range of local days (reporting zone), the source's current rows
are compared with the warehouse's current state (the latest version of every id in raw.nps, in
the order dbt uses: macros/nps_versions.sql). Per day it reports:

- deleted: ids the warehouse has and the source does not (hard deletes);
- differs: ids whose current content differs (history rewritten, an update that did not bump the
  cursor, an update a load missed, a cursor set to NULL after the row was loaded);
- never loaded: ids the source has and raw has never seen (e.g. a NULL cursor);
- left alone, and said so: rows changed at or after the newest loaded window's end (the daily
  runs have not had their chance yet) and rows whose cursor is in the future (fix the source).

``--apply`` writes the corrections through the normal path: an immutable extract in the lake
(``nps/reconcile/reconcile_id=X/``), loaded in one transaction into raw.nps, logged in
raw.nps_loads with ``kind = 'reconcile'``, folded in by the next ``dbt run``. Each correction
carries ``_supersedes``, the version it takes the place of: it sorts as if its cursor were that,
ahead of day loads with the same cursor, so re-running or backfilling a day never undoes it and
a newer change in the source still wins. A hard delete is written as the last loaded version
flagged deleted (``_correction = 'deleted_from_source'``).

Memory: both sides are streamed in created_at order (the warehouse a week per query) and
compared a day at a time; what is kept beyond a day is the differences (ids and
corrections), not the range.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from loader.dates import local_midnight_utc
from loader.errors import ConfigError, LoaderError, SourceError, WarehouseError
from loader.lake.reader import Extract
from loader.lake.writer import publish_corrections, write_corrections
from loader.loaded_days import loaded_days
from loader.relations import Relations
from loader.settings import Settings
from loader.source import RowFilter, read_rows
from loader.tables import CORRECTION_SCHEMA
from loader.warehouse import LoadResult, Warehouse

DELETED, DIFFERS, NEVER_LOADED = "deleted_from_source", "content_differs", "never_loaded"
#: The default of --max-delete-fraction (of the range's responses).
MAX_DELETE_FRACTION = 0.05
#: The default of --max-day-delete-fraction (of one day's responses).
MAX_DAY_DELETE_FRACTION = 0.25
#: The default of --max-change-fraction: a day most of whose rows differ was read wrong (a
#: changed source zone, another table), not rewritten.
MAX_CHANGE_FRACTION = 0.5
#: The per-day fractions apply from this many rows of a kind in a day on (one delete of a day of
#: three answers is no partial read).
DAY_GUARD_FLOOR = 5

#: (created_at, modified, deleted, score): what is compared
Content = tuple[Any, Any, bool, Any]


class GuardError(LoaderError):
    """``--apply`` refused: the corrections look like a partial or wrong read."""


@dataclass(frozen=True)
class Stored:
    """A warehouse id's current version."""

    content: Content
    version: dt.datetime | None  # coalesce(_supersedes, modified)
    correction: str | None


@dataclass
class DayReport:
    day: dt.date
    source_rows: int = 0
    warehouse_rows: int = 0
    deleted: list[int] = field(default_factory=list)
    #: (id, why)
    differs: list[tuple[int, str]] = field(default_factory=list)
    never_loaded: list[int] = field(default_factory=list)
    #: changed at or after the newest loaded window's end: left to the daily runs
    pending: int = 0
    #: cursor in the future: not corrected (fix the source)
    future: list[int] = field(default_factory=list)

    @property
    def corrections(self) -> int:
        return len(self.deleted) + len(self.differs) + len(self.never_loaded)

    def as_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "source_rows": self.source_rows,
            "warehouse_rows": self.warehouse_rows,
            "deleted": self.deleted,
            "differs": [{"id": i, "why": why} for i, why in self.differs],
            "never_loaded": self.never_loaded,
            "pending": self.pending,
            "future_cursor": self.future,
        }


@dataclass
class Comparison:
    first: dt.date
    last: dt.date
    zone: str
    bounds: tuple[dt.datetime, dt.datetime]
    days: dict[dt.date, DayReport]
    corrections: list[dict[str, Any]]

    def day(self, day: dt.date) -> DayReport:
        return self.days.setdefault(day, DayReport(day))

    def total(self, name: str) -> int:
        return sum(
            len(v) if isinstance(v := getattr(r, name), list) else int(v)
            for r in self.days.values()
        )

    @property
    def source_rows(self) -> int:
        return self.total("source_rows")

    @property
    def warehouse_rows(self) -> int:
        return self.total("warehouse_rows")


def current_state_sql(raw_schema: str, model: str | None, where: str, ordered: bool = True) -> str:
    """The newest version of every id with a version matching ``where``, in the order of
    macros/nps_versions.sql, among raw.nps's rows and (``model``: int_nps_responses_current,
    once dbt has built it) the version dbt stores, which a re-run day can have dropped from raw
    while the incremental model keeps it. Of those, the ones matching ``where`` themselves,
    ordered by created_at."""
    low = "cast('1900-01-01 00:00:00' as timestamp)"
    order = (
        "coalesce(_supersedes, modified) desc, "
        f"coalesce(case when _correction is not null then _loaded_at end, {low}) desc, "
        f"coalesce(created_at, {low}) desc, _loaded_at desc, _extract_id desc"
    )
    columns = "id, created_at, modified, {deleted}, score, _supersedes, _correction, _loaded_at, _extract_id"
    held = f"select {columns.format(deleted='coalesce(deleted, false) as deleted')} from {raw_schema}.nps"
    if model is not None:
        held += f" union all select {columns.format(deleted='is_deleted as deleted')} from {model}"
    return (
        f"with held as ({held}), ids as (select distinct id from held where {where}), "
        "versions as (select held.*, coalesce(_supersedes, modified) as version, "
        f"row_number() over (partition by held.id order by {order}) as version_rank "
        "from held where held.id in (select id from ids)) "
        "select id, created_at, modified, deleted, score, version, _correction from versions "
        f"where version_rank = 1 and {where}" + (" order by created_at, id" if ordered else "")
    )


def _model(warehouse: Warehouse, settings: Settings) -> str | None:
    """int_nps_responses_current, when dbt has built it."""
    name = Relations(settings.warehouse_target().schema, settings.raw_schema).current_state
    try:
        warehouse.query(f"select 1 from {name} where 1 = 0", ())
    except WarehouseError:
        return None
    return name


class _Days:
    """Rows grouped by local day as they stream in (nearly) created_at order: a day is handed on
    once rows two days later have arrived, so a source read in wall-clock order (a repeated
    hour) never splits a day. At most three days are held at a time."""

    def __init__(self, midnights: list[dt.datetime]) -> None:
        self.midnights = midnights
        self.open: dict[int, dict[int, Any]] = {}
        self.newest = -1
        self.handed_on = -1  # the last day handed on

    def index(self, created_at: dt.datetime | None) -> int | None:
        if created_at is None or not self.midnights[0] <= created_at < self.midnights[-1]:
            return None
        return bisect.bisect_right(self.midnights, created_at) - 1

    def add(self, day: int, id_: int, value: Any) -> Iterator[tuple[int, dict[int, Any]]]:
        if day <= self.handed_on:  # compared already: it would be compared twice, wrongly
            raise SourceError(
                "the source returned its rows out of created_at order (a row of a day already "
                "compared arrived two days later); nothing was written"
            )
        self.open.setdefault(day, {})[id_] = value
        if day > self.newest:
            self.newest = day
            yield from self._flush(day - 2)

    def _flush(self, through: int) -> Iterator[tuple[int, dict[int, Any]]]:
        for day in sorted(d for d in self.open if d <= through):
            self.handed_on = day
            yield day, self.open.pop(day)

    def rest(self) -> Iterator[tuple[int, dict[int, Any]]]:
        yield from self._flush(len(self.midnights))


def _source_days(
    settings: Settings, bounds: tuple[dt.datetime, dt.datetime], days: _Days
) -> Iterator[tuple[int, dict[int, Any]]]:
    spec = settings.require_source()
    for batch in read_rows(spec, RowFilter("created_at", *bounds, ordered=True)):
        columns = [batch.column(name).to_pylist() for name in CORRECTION_SCHEMA.names[:5]]
        for id_, created, modified, deleted, score in zip(*columns, strict=True):
            day = days.index(created)
            if day is not None:  # wall-clock bounds read a little more than the range
                yield from days.add(day, id_, (created, modified, bool(deleted), score))
    yield from days.rest()


#: Days the warehouse is asked for at a time: few enough that its working memory (in-process for
#: DuckDB) follows a week, not the range; enough that a long range is not a query per day.
CHUNK_DAYS = 7


def _warehouse_days(
    warehouse: Warehouse, sql: str, midnights: list[dt.datetime]
) -> Iterator[tuple[int, dict[int, Any]]]:
    """The warehouse's current responses, a week per query, streamed in created_at order and
    handed on a day at a time."""
    days = _Days(midnights)
    for first in range(0, len(midnights) - 1, CHUNK_DAYS):
        bounds = (midnights[first], midnights[min(first + CHUNK_DAYS, len(midnights) - 1)])
        day, held = first, dict[int, Stored]()
        for id_, created, modified, deleted, score, version, correction in warehouse.stream(
            sql, (*bounds, *bounds)
        ):
            index = days.index(created)
            if index is None:
                continue
            if index != day and held:
                yield day, held
                held = dict[int, Stored]()
            day = index
            content = (created, modified, bool(deleted), None if score is None else int(score))
            held[int(id_)] = Stored(content, version, correction)
        if held:
            yield day, held


def _paired(
    a: Iterator[tuple[int, dict[int, Any]]], b: Iterator[tuple[int, dict[int, Any]]]
) -> Iterator[tuple[int, dict[int, Any], dict[int, Any]]]:
    x, y = next(a, None), next(b, None)
    while x is not None or y is not None:
        if y is None or (x is not None and x[0] < y[0]):
            assert x is not None
            yield x[0], x[1], {}
            x = next(a, None)
        elif x is None or y[0] < x[0]:
            yield y[0], {}, y[1]
            y = next(b, None)
        else:
            yield x[0], x[1], y[1]
            x, y = next(a, None), next(b, None)


def _why(source: Content, stored: Stored) -> str:
    if source[1] is None:
        return "cursor is NULL in the source"
    if stored.content[1] is None or source[1] == stored.content[1]:
        return "updated without bumping the cursor"
    if source[1] < stored.content[1]:
        return "history rewritten (cursor moved backwards)"
    return "an update no load read"


def _newest(*values: dt.datetime | None) -> dt.datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def compare(
    settings: Settings,
    warehouse: Warehouse,
    first: dt.date,
    last: dt.date,
    now: dt.datetime | None = None,
) -> Comparison:
    """Compare the source's current rows created on ``first..last`` with the warehouse's."""
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    zone = settings.reporting_timezone
    raw = settings.raw_schema
    loaded = loaded_days(warehouse, raw, zone, first, last)
    loaded.check_source_zone(settings.require_source().source_timezone, "reconcile")
    cutoff = loaded.cutoff
    n = (last - first).days + 1
    midnights = [local_midnight_utc(first + dt.timedelta(days=k), zone) for k in range(n + 1)]
    bounds = (midnights[0], midnights[-1])
    result = Comparison(first, last, zone, bounds, {}, [])
    in_range = "created_at >= %s and created_at < %s"
    model = _model(warehouse, settings)
    stored_sql = current_state_sql(raw, model, in_range)
    missing: dict[int, tuple[dt.date, Content]] = {}  # in the source's range only
    gone: dict[int, tuple[dt.date, Stored]] = {}  # in the warehouse's range only

    def correct(day: dt.date, id_: int, content: Content, supersedes: Any, kind: str) -> None:
        created, modified, deleted, score = content
        result.corrections.append(
            {
                "id": id_,
                "created_at": created,
                "modified": modified,
                "deleted": deleted,
                "score": score,
                "_run_date": day,
                "_supersedes": supersedes,
                "_correction": kind,
            }
        )

    source = _source_days(settings, bounds, _Days(midnights))
    stored_days = _warehouse_days(warehouse, stored_sql, midnights)
    for index, src, wh in _paired(source, stored_days):
        day = first + dt.timedelta(days=index)
        report = result.day(day)
        report.source_rows += len(src)
        report.warehouse_rows += len(wh)
        for id_, content in src.items():
            modified = content[1]
            if modified is not None and modified > now:
                report.future.append(id_)
                wh.pop(id_, None)
                continue
            if modified is not None and modified >= cutoff:
                report.pending += 1
                wh.pop(id_, None)
                continue
            stored = wh.pop(id_, None)
            if stored is None:
                missing[id_] = (day, content)
            elif stored.content != content:
                report.differs.append((id_, _why(content, stored)))
                correct(day, id_, content, _newest(modified, stored.version), DIFFERS)
        for id_, stored in wh.items():
            if not (stored.correction == DELETED and stored.content[2]):
                gone[id_] = (day, stored)
    # moved between days of the range (created_at rewritten)
    for id_ in sorted(set(missing) & set(gone)):
        (day, content), (_, stored) = missing.pop(id_), gone.pop(id_)
        result.day(day).differs.append((id_, "created_at rewritten"))
        correct(day, id_, content, _newest(content[1], stored.version), DIFFERS)
    # in the range now, but the warehouse holds the id on a day outside it
    elsewhere = _stored_by_id(warehouse, raw, model, sorted(missing))
    for id_, (day, content) in sorted(missing.items()):
        if id_ in elsewhere:
            stored = elsewhere[id_]
            result.day(day).differs.append((id_, "created_at rewritten"))
            correct(day, id_, content, _newest(content[1], stored.version), DIFFERS)
        else:
            result.day(day).never_loaded.append(id_)
            correct(day, id_, content, _newest(content[1], content[0]), NEVER_LOADED)
    for id_, (day, stored) in sorted(gone.items()):
        result.day(day).deleted.append(id_)
        created, modified, _, score = stored.content
        correct(day, id_, (created, modified, True, score), stored.version, DELETED)
    result.days = dict(sorted(result.days.items()))
    return result


def _stored_by_id(
    warehouse: Warehouse, raw: str, model: str | None, ids: list[int]
) -> dict[int, Stored]:
    found: dict[int, Stored] = {}
    for offset in range(0, len(ids), 1000):
        chunk = ids[offset : offset + 1000]
        where = f"id in ({', '.join(str(int(i)) for i in chunk)})"  # ints, not input text
        for id_, created, modified, deleted, score, version, correction in warehouse.query(
            current_state_sql(raw, model, where, ordered=False), ()
        ):
            content = (created, modified, bool(deleted), score)
            found[int(id_)] = Stored(content, version, correction)
    return found


@dataclass(frozen=True)
class ReconcileResult:
    comparison: Comparison
    applied: LoadResult | None = None


def _days(reports: list[DayReport]) -> str:
    shown = ", ".join(str(r.day) for r in reports[:5])
    return shown + (f" and {len(reports) - 5} more" if len(reports) > 5 else "")


def guard(
    comparison: Comparison,
    max_delete_fraction: float,
    force: bool,
    max_day_delete_fraction: float = MAX_DAY_DELETE_FRACTION,
    max_change_fraction: float = MAX_CHANGE_FRACTION,
) -> None:
    """Refuse corrections that look like a partial or wrong read (unless ``force``): over the
    range and day by day."""
    if force:
        return
    span = f"{comparison.first}..{comparison.last}"
    days = sorted(comparison.days.values(), key=lambda r: r.day)
    if comparison.source_rows == 0 and comparison.warehouse_rows > 0:
        raise GuardError(
            f"reconcile refused: the source returned no rows created on {span} but the "
            f"warehouse has {comparison.warehouse_rows} (a wrong table, a wrong zone or a "
            "partial read?); nothing was written. If the source really is empty there, "
            "re-run with --force"
        )
    empty = [r for r in days if r.source_rows == 0 and r.warehouse_rows > 0]
    if empty:
        held = sum(r.warehouse_rows for r in empty)
        raise GuardError(
            f"reconcile refused: the source returned no rows created on {_days(empty)}, where "
            f"the warehouse has {held} responses (a partial read, a filtered view, a wrong "
            "zone?); nothing was written. If the source really lost those days, re-run with "
            "--force"
        )
    deletes, responses = comparison.total("deleted"), comparison.warehouse_rows
    if deletes and deletes > max_delete_fraction * responses:
        raise GuardError(
            f"reconcile refused: it would delete {deletes} of the {responses} responses of "
            f"{span} ({deletes / responses:.1%}), more than --max-delete-fraction "
            f"{max_delete_fraction:g}; nothing was written. Check the source (a partial read, "
            "a wrong table?), then re-run with --force or a larger --max-delete-fraction"
        )
    for kind, what, limit, option in (
        ("deleted", "delete", max_day_delete_fraction, "--max-day-delete-fraction"),
        ("differs", "change", max_change_fraction, "--max-change-fraction"),
    ):
        over = [
            r
            for r in days
            if len(getattr(r, kind)) >= DAY_GUARD_FLOOR
            and len(getattr(r, kind)) > limit * max(r.warehouse_rows, r.source_rows)
        ]
        if over:
            r = over[0]
            n, of = len(getattr(r, kind)), max(r.warehouse_rows, r.source_rows)
            raise GuardError(
                f"reconcile refused: it would {what} {n} of the {of} responses of {r.day} "
                f"({n / of:.1%}), more than {option} {limit:g} (days: {_days(over)}); nothing "
                "was written. A day read wrong looks like this (a partial read, a changed "
                "source zone, another table): check the source, then re-run with --force or a "
                f"larger {option}"
            )


def reconcile(
    settings: Settings,
    first: dt.date,
    last: dt.date,
    apply: bool = False,
    max_delete_fraction: float = MAX_DELETE_FRACTION,
    force: bool = False,
    max_day_delete_fraction: float = MAX_DAY_DELETE_FRACTION,
    max_change_fraction: float = MAX_CHANGE_FRACTION,
) -> ReconcileResult:
    """Compare the range; with ``apply``, guard, then write and load the corrections."""
    if last < first:
        raise ConfigError(f"--end {last} is before --start {first}")
    for option, value in (
        ("--max-delete-fraction", max_delete_fraction),
        ("--max-day-delete-fraction", max_day_delete_fraction),
        ("--max-change-fraction", max_change_fraction),
    ):
        if not 0 <= value <= 1:
            raise ConfigError(f"{option} must be between 0 and 1, got {value}")
    settings.require_source()
    warehouse = settings.warehouse()
    try:
        comparison = compare(settings, warehouse, first, last)
        if not apply or not comparison.corrections:  # nothing found: nothing written
            return ReconcileResult(comparison)
        guard(comparison, max_delete_fraction, force, max_day_delete_fraction, max_change_fraction)
        table = pa.Table.from_pylist(comparison.corrections, schema=CORRECTION_SCHEMA)
        lake = settings.lake()
        manifest = write_corrections(
            lake,
            table,
            (first, last),
            comparison.bounds,
            settings.require_source(),
            comparison.zone,
        )
        applied = warehouse.load_corrections(Extract(lake, manifest))
        # Published only now: a reconcile killed before its load committed leaves parts that
        # no manifest lists, which nothing (a rebuild from the lake included) ever loads.
        publish_corrections(lake, manifest)
        return ReconcileResult(comparison, applied)
    finally:
        warehouse.close()
