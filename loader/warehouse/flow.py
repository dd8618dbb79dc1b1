"""The load flow, written once for every warehouse.

A day's load: the lake's latest extract of the day is checked before the load lock is taken
(where the warehouse reads the parts from the lake itself: Redshift's COPY), then in one
transaction under the lock: the lake's latest extract again (a concurrent extract may have
published a newer one meanwhile: that one is loaded, and checked first), the zone and load-window
checks against the load log, the delete of the day's rows, the ingest, the count check, the
audit row, the commit. A reconcile's load is the same without the delete. Each warehouse module
supplies only what differs: how it locks and opens the transaction (:meth:`Dialect.locked`), how
it deletes, ingests and logs (:class:`LoadSession`), and how it words an error.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, cast

from loader.dates import utc_now
from loader.errors import WarehouseError
from loader.lake.manifest import Manifest
from loader.lake.reader import Extract
from loader.tables import LOADED_COLUMNS, RAW_NPS, Column
from loader.warehouse.base import LoadResult, checked_extract, loads_row

if TYPE_CHECKING:
    from loader.lake import Lake


class LoadSession(Protocol):
    """One load's open transaction, under the warehouse's load lock."""

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """Run a query in the transaction."""
        ...

    def delete_day(self, run_date: dt.date) -> int:
        """Delete the day's loaded rows (never a reconcile's corrections); how many."""
        ...

    def ingest(
        self, extract: Extract, stamps: dict[str, object], columns: tuple[Column, ...]
    ) -> int:
        """Append the extract's rows to raw.nps as ``columns`` (the ones the extract lacks are
        the load's own, from ``stamps``); how many rows the warehouse took."""
        ...

    def audit(self, row: tuple[object, ...]) -> None:
        """Append the load's raw.nps_loads row."""
        ...


class Dialect(Protocol):
    raw_schema: str

    def check_before_lock(self, extract: Extract) -> None:
        """What can be checked of an extract without holding the lock (nothing, where the
        ingest checks each part as it reads it)."""
        ...

    def locked(self, what: str, extract_name: str) -> AbstractContextManager[LoadSession]:
        """A transaction holding the load lock, committed when the block ends, rolled back on
        any failure, each failure said in one line (``what``: "loading 2021-09-16";
        ``extract_name``: "the extract of 2021-09-16")."""
        ...


def load_day(dialect: Dialect, lake: Lake, run_date: dt.date) -> LoadResult:
    early = Extract.latest(lake, run_date)
    dialect.check_before_lock(early)
    with dialect.locked(f"loading {run_date}", f"the extract of {run_date}") as session:
        # Under the lock: the lake's latest extract of the day, and the stamp that orders this
        # load after every load that committed before it.
        extract, _ = checked_extract(lake, run_date, session.rows, dialect.raw_schema)
        manifest = extract.manifest
        if manifest != early.manifest:
            dialect.check_before_lock(extract)
        loaded_at = utc_now()
        replaced = session.delete_day(manifest.run_date)
        stamps = {
            "_run_date": manifest.run_date,
            "_extract_id": manifest.extract_id,
            "_loaded_at": loaded_at,
        }
        loaded = session.ingest(extract, stamps, LOADED_COLUMNS)
        check_count(loaded, manifest, f"rows for {manifest.run_date}")
        session.audit(loads_row(manifest, replaced, loaded_at))
    return LoadResult(manifest.run_date, manifest.extract_id, loaded, replaced, loaded_at)


def load_corrections(dialect: Dialect, extract: Extract) -> LoadResult:
    manifest = extract.manifest
    dialect.check_before_lock(extract)
    with dialect.locked("loading the corrections", "the reconcile extract") as session:
        loaded_at = utc_now()
        stamps = {"_extract_id": manifest.extract_id, "_loaded_at": loaded_at}
        loaded = session.ingest(extract, stamps, RAW_NPS)
        check_count(loaded, manifest, "corrections")
        session.audit(loads_row(manifest, 0, loaded_at))
    return LoadResult(manifest.run_date, manifest.extract_id, loaded, 0, loaded_at)


def check_count(loaded: int, manifest: Manifest, what: str) -> None:
    if loaded != manifest.rows:
        raise WarehouseError(f"loaded {loaded} {what} but the manifest has {manifest.rows}")


class FlowLoads:
    """The two loads, as every warehouse runs them: its own class (a :class:`Dialect`) supplies
    the lock and the statements."""

    def replace_day(self, lake: Lake, run_date: dt.date) -> LoadResult:
        return load_day(cast(Dialect, self), lake, run_date)

    def load_corrections(self, extract: Extract) -> LoadResult:
        return load_corrections(cast(Dialect, self), extract)
