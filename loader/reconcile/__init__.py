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

Memory: both sides are streamed in created_at order (the warehouse a query per day) and
compared a day at a time as Arrow tables; what is kept beyond a day is the differences (ids
and corrections), not the range.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyarrow as pa

from loader.errors import ConfigError
from loader.lake.reader import Extract
from loader.lake.writer import publish_corrections, write_corrections
from loader.reconcile.compare import compare
from loader.reconcile.guards import (
    MAX_CHANGE_FRACTION,
    MAX_DAY_DELETE_FRACTION,
    MAX_DELETE_FRACTION,
    GuardError,
    guard,
)
from loader.reconcile.model import (
    Comparison,
    DayReport,
    day_state_sql,
    ids_state_sql,
)
from loader.settings import Settings
from loader.tables import CORRECTION_SCHEMA, DELETED, DIFFERS, NEVER_LOADED
from loader.warehouse import LoadResult

__all__ = [
    "DELETED",
    "DIFFERS",
    "MAX_CHANGE_FRACTION",
    "MAX_DAY_DELETE_FRACTION",
    "MAX_DELETE_FRACTION",
    "NEVER_LOADED",
    "Comparison",
    "DayReport",
    "GuardError",
    "ReconcileResult",
    "compare",
    "day_state_sql",
    "guard",
    "ids_state_sql",
    "reconcile",
]


@dataclass(frozen=True)
class ReconcileResult:
    comparison: Comparison
    applied: LoadResult | None = None


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
