"""The loader's operations: extract a day, load a day, run both. No CLI concerns here."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from loader.errors import LoaderError
from loader.lake import Lake
from loader.lake.manifest import Manifest, manifest_key
from loader.lake.reader import read_manifest
from loader.lake.writer import extract_day
from loader.load_windows import LoadLog, check_zone, widen
from loader.settings import Settings
from loader.warehouse import LoadResult, Warehouse, check_reachable

log = logging.getLogger("loader")


def preflight(settings: Settings, last_day: dt.date) -> None:
    """Everything knowable before an extract, checked before anything is read or written: a
    source is given, the (last) day has ended, the warehouse is reachable and, for Redshift,
    the COPY role is set and the lake is on S3."""
    settings.require_source()
    settings.window(last_day)
    check_reachable(settings.warehouse_target(), settings.raw_schema, settings.lake_url)


def extract(settings: Settings, run_date: dt.date, loaded: LoadLog | None = None) -> Manifest:
    """Extract the day, its window widened to meet the loaded windows around it (``loaded``:
    the warehouse's load log; by default the lake's manifests of the neighbouring days)."""
    window = settings.window(run_date)
    lake = settings.lake()
    loaded = loaded if loaded is not None else lake_log(lake, run_date)
    check_zone(window.zone, settings.change_reporting_timezone, loaded)
    window, notes = widen(window, loaded)
    for note in notes:
        log.warning(f"the window of {run_date} {note}: no instant between loaded days goes unread")
    return extract_day(settings.require_source(), lake, window, settings.change_reporting_timezone)


def lake_log(lake: Lake, run_date: dt.date) -> LoadLog:
    """The windows of the latest extracts of the days around ``run_date`` in the lake."""
    manifests = [
        read_manifest(lake, day)
        for day in (run_date + dt.timedelta(days=n) for n in (-1, 0, 1))
        if lake.exists(manifest_key(day))
    ]
    zoned = sorted(
        (m.extracted_at, m.reporting_timezone) for m in manifests if m.reporting_timezone
    )
    return LoadLog.from_rows(
        [(m.run_date, m.window_start, m.window_end, m.extracted_at) for m in manifests],
        zoned[-1][1] if zoned else None,
        origin=f"the lake's extracts of the days around {run_date} were made",
    )


def warehouse_log(settings: Settings, run_date: dt.date) -> LoadLog:
    """The warehouse's load log around ``run_date``, read before an extract. A DuckDB file is
    only peeked at (read-only, never waiting: an extract must not queue behind a dbt run); while
    another process holds it, the lake's manifests stand in. The load checks again, under its
    lock, against the warehouse itself."""
    target = settings.warehouse_target()
    if target.type == "duckdb":
        from loader.warehouse.duckdb import peek_load_log

        peeked = peek_load_log(
            str(target.settings.get("path", ":memory:")), settings.raw_schema, run_date
        )
        return peeked if peeked is not None else lake_log(settings.lake(), run_date)
    warehouse = settings.warehouse()
    try:
        return warehouse.load_log(run_date)
    finally:
        warehouse.close()


def load(settings: Settings, run_date: dt.date, warehouse: Warehouse | None = None) -> LoadResult:
    """Load the lake's latest extract of the day. It is read (and checked against the load log)
    under the warehouse's load lock, and streamed part by part inside the load's transaction:
    a part that fails its checksum rolls the day back before anything is committed."""
    owned = warehouse is None
    wh = warehouse or settings.warehouse()
    try:
        return wh.replace_day(settings.lake(), run_date)
    finally:
        if owned:
            wh.close()


def run(settings: Settings, run_date: dt.date, warehouse: Warehouse | None = None) -> LoadResult:
    """Extract, then load. The warehouse is read for its load log before the extract, and opened
    (for DuckDB: its file locked) for the load only after the extract, so a long extract never
    blocks a dbt run."""
    loaded = warehouse.load_log(run_date) if warehouse else warehouse_log(settings, run_date)
    extract(settings, run_date, loaded)
    return load(settings, run_date, warehouse)


@dataclass
class BackfillResult:
    days: list[dt.date] = field(default_factory=list)
    rows: int = 0


def backfill(
    settings: Settings,
    days: Iterable[dt.date],
    on_day: Callable[[LoadResult], None] | None = None,
) -> BackfillResult:
    """``run`` every day in order; stop at the first failure, saying which days succeeded
    (re-running them is safe: each day replaces itself)."""
    done = BackfillResult()
    for day in days:
        try:
            result = run(settings, day)
        except LoaderError as exc:
            succeeded = f"{done.days[0]}..{done.days[-1]}" if done.days else "none"
            raise type(exc)(f"{day} failed: {exc} (days that succeeded: {succeeded})") from exc
        done.days.append(day)
        done.rows += result.rows
        if on_day is not None:
            on_day(result)
    return done
