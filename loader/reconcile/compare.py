"""The day comparison: the source's current rows created on a range of local days against the
warehouse's current state, day by day. Days whose fingerprints agree (loader/fingerprint.py)
are taken as equal without moving a row. The others are streamed, both sides in created_at
order (the warehouse a query per day), a day at a time: each day's two sides become Arrow
tables, joined on id in Arrow, and only the rows the join finds worth a look (on one side only,
differing, or changed too late to judge) become Python rows and are classified."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pyarrow as pa

from loader.dates import day_range, local_midnight_utc, runs_of_days, utc_now
from loader.fingerprint import DayPrint, equal_days
from loader.loaded_days import loaded_days
from loader.reconcile.day_tables import paired, source_days, warehouse_days, worth_a_look
from loader.reconcile.model import Comparison, Content, Stored, find_model, stored_by_id
from loader.settings import Settings
from loader.table_names import TableNames
from loader.tables import DELETED, DIFFERS, NEVER_LOADED
from loader.warehouse import Warehouse


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


def all_folded(warehouse: Warehouse, raw: str, model: str | None) -> bool:
    """Has dbt folded every load of raw.nps into the current state (int_nps_responses_current)?
    Then the model alone is the current state: it keeps the newest version, in the order of
    macros/nps_versions.sql, of everything it has read."""
    if model is None:
        return False
    ((folded,),) = warehouse.query(f"select max(_loaded_at) from {model}", ())
    unfolded = warehouse.query(
        f"select 1 from {raw}.nps where _loaded_at > %s limit 1",
        (folded or dt.datetime(1900, 1, 1),),
    )
    return not unfolded


def fingerprinted_days(
    settings: Settings,
    warehouse: Warehouse,
    model: str,
    first: dt.date,
    last: dt.date,
) -> dict[dt.date, DayPrint]:
    """The days of ``first..last`` whose fingerprints agree in the source and in the current
    state ``model`` (int_nps_responses_current, which the caller found to hold every load:
    all_folded), with their fingerprint. None agree when the source cannot be fingerprinted."""
    return equal_days(
        settings.require_source(),
        warehouse,
        settings.warehouse_target().type,
        model,
        first,
        last,
        settings.reporting_timezone,
    )


def _compare_days(
    first: dt.date,
    source: Iterator[tuple[int, pa.Table]],
    stored_days: Iterator[tuple[int, pa.Table]],
    cutoff: dt.datetime,
    now: dt.datetime,
    result: Comparison,
    missing: dict[int, tuple[dt.date, Content]],
    gone: dict[int, tuple[dt.date, Stored]],
) -> None:
    """Compare row by row the days of one run (days counted from ``first``), adding to
    ``result`` and to the ids seen on one side only."""
    for index, src_day, wh_day in paired(source, stored_days):
        day = first + dt.timedelta(days=index)
        report = result.day(day)
        report.source_rows += 0 if src_day is None else len(src_day)
        report.warehouse_rows += 0 if wh_day is None else len(wh_day)
        src, wh = worth_a_look(src_day, wh_day, cutoff, now)
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
                result.correct(day, id_, content, _newest(modified, stored.version), DIFFERS)
        for id_, stored in wh.items():
            if not (stored.correction == DELETED and stored.content[2]):
                gone[id_] = (day, stored)


def compare(
    settings: Settings,
    warehouse: Warehouse,
    first: dt.date,
    last: dt.date,
    now: dt.datetime | None = None,
) -> Comparison:
    """Compare the source's current rows created on ``first..last`` with the warehouse's."""
    now = now or utc_now()
    zone = settings.reporting_timezone
    raw = settings.raw_schema
    loaded = loaded_days(warehouse, TableNames.of(settings), zone, first, last)
    loaded.check_source_zone(settings.require_source().source_timezone, "reconcile")
    cutoff = loaded.cutoff
    bounds = (
        local_midnight_utc(first, zone),
        local_midnight_utc(last + dt.timedelta(days=1), zone),
    )
    result = Comparison(first, last, zone, bounds, {}, [])
    model = find_model(warehouse, settings)
    folded = all_folded(warehouse, raw, model)
    equal = (
        fingerprinted_days(settings, warehouse, model, first, last)
        if folded and model is not None
        else {}
    )
    unloaded = {}
    for day in day_range(first, last):
        why = loaded.why_not_loaded(day)
        if why is not None:  # a day no day load covers is loaded, never reconciled
            unloaded[day] = result.day(day).not_loaded = why
            equal.pop(day, None)
    for day, print_ in equal.items():
        report = result.day(day)
        report.source_rows = report.warehouse_rows = print_.rows
        report.fingerprint = print_.digest
    missing: dict[int, tuple[dt.date, Content]] = {}  # in the source's range only
    gone: dict[int, tuple[dt.date, Stored]] = {}  # in the warehouse's range only

    compared = [d for d in day_range(first, last) if d not in equal and d not in unloaded]
    for run_first, run_last in runs_of_days(compared):
        n = (run_last - run_first).days + 1
        midnights = [
            local_midnight_utc(run_first + dt.timedelta(days=k), zone) for k in range(n + 1)
        ]
        source = source_days(settings, midnights)
        stored_days = warehouse_days(warehouse, raw, model, run_first, midnights, folded)
        _compare_days(run_first, source, stored_days, cutoff, now, result, missing, gone)
    # moved between days of the range (created_at rewritten)
    for id_ in sorted(set(missing) & set(gone)):
        (day, content), (_, stored) = missing.pop(id_), gone.pop(id_)
        result.day(day).differs.append((id_, "created_at rewritten"))
        result.correct(day, id_, content, _newest(content[1], stored.version), DIFFERS)
    # in the range now, but the warehouse holds the id on a day outside it
    elsewhere = stored_by_id(warehouse, raw, model, sorted(missing))
    for id_, (day, content) in sorted(missing.items()):
        if id_ in elsewhere:
            stored = elsewhere[id_]
            result.day(day).differs.append((id_, "created_at rewritten"))
            result.correct(day, id_, content, _newest(content[1], stored.version), DIFFERS)
        else:
            result.day(day).never_loaded.append(id_)
            result.correct(day, id_, content, _newest(content[1], content[0]), NEVER_LOADED)
    for id_, (day, stored) in sorted(gone.items()):
        result.day(day).deleted.append(id_)
        created, modified, _, score = stored.content
        result.correct(day, id_, (created, modified, True, score), stored.version, DELETED)
    result.days = dict(sorted(result.days.items()))
    return result
