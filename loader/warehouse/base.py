"""What every warehouse module shares: the protocol, the raw DDL, the load record, the
certificates, and the id ranges their reads prune on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from loader.lake.manifest import Manifest
from loader.tables import (
    NPS_CERTIFICATIONS,
    NPS_LOADS,
    RAW_NPS,
    create_table,
    insert_values,
    row,
)

if TYPE_CHECKING:
    from loader.lake import Lake
from loader.lake.reader import Extract
from loader.load_windows import LoadLog, check, check_zone
from loader.upgrade import load_log_queries


@dataclass(frozen=True)
class LoadResult:
    run_date: dt.date
    extract_id: str
    rows: int
    replaced_rows: int
    loaded_at: dt.datetime


class Warehouse(Protocol):
    raw_schema: str

    def replace_day(self, lake: Lake, run_date: dt.date) -> LoadResult:
        """In one transaction, under the load lock: read the day's latest extract from the lake
        (so concurrent loads of a day leave raw holding the extract the lake names), check it
        leaves no gap between loaded windows, delete the day's raw rows, insert the extract, log
        the load."""
        ...

    def load_corrections(self, extract: Extract) -> LoadResult:
        """In one transaction, under the load lock: insert a reconcile's corrections (checked
        part by part against their manifest) into raw.nps, log the load as a reconcile."""
        ...

    def stream(self, sql: str, params: Sequence[object]) -> Iterator[tuple[Any, ...]]:
        """Run a read-only query (``%s`` placeholders), its rows fetched a batch at a time."""
        ...

    def load_log(self, run_date: dt.date) -> LoadLog:
        """The loaded windows around ``run_date`` and the warehouse's reporting zone."""
        ...

    def query(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        """Run a read-only query written with ``%s`` placeholders."""
        ...

    def query_with_ids(self, sql: str, ids: Sequence[int]) -> list[tuple[Any, ...]]:
        """Run a read-only query in which ``{ids}`` names a table of ``ids`` (column ``id``)."""
        ...

    def certify(self, certificates: Sequence[Certificate]) -> None:
        """Record days proven equal to the source (raw.nps_certifications), in one transaction."""
        ...

    def close(self) -> None: ...


def id_ranges(ids: Sequence[int], column: str, max_ranges: int = 64) -> str:
    """``column`` within the ranges of ``ids`` (split at their widest gaps), as literals that a
    zone map (Redshift) or an index (PostgreSQL) prunes on; ``1 = 0`` for no ids. The same rule
    as the nps_id_ranges dbt macro."""
    unique = sorted({int(i) for i in ids})
    if not unique:
        return "1 = 0"
    gaps = sorted(
        (k for k in range(1, len(unique)) if unique[k] - unique[k - 1] > 1),
        key=lambda k: (-(unique[k] - unique[k - 1]), k),
    )
    cuts = sorted(gaps[: max_ranges - 1])
    starts = [unique[0], *(unique[k] for k in cuts)]
    ends = [*(unique[k - 1] for k in cuts), unique[-1]]
    return (
        "("
        + " or ".join(f"{column} between {a} and {b}" for a, b in zip(starts, ends, strict=True))
        + ")"
    )


def raw_ddl(raw_schema: str, table_suffix: str = "") -> list[str]:
    """Portable DDL for the raw tables (DuckDB, PostgreSQL and Redshift all accept it)."""
    return [
        f"create schema if not exists {raw_schema}",
        create_table(f"{raw_schema}.nps", RAW_NPS, table_suffix),
        create_table(f"{raw_schema}.nps_loads", NPS_LOADS),
        create_table(f"{raw_schema}.nps_certifications", NPS_CERTIFICATIONS),
    ]


@dataclass(frozen=True)
class Certificate:
    """A day of the marts proven equal to the source (a row of raw.nps_certifications)."""

    response_date: dt.date
    reporting_timezone: str
    compared: str
    source_rows: int
    digest: str | None
    certified_at: dt.datetime
    command: str

    def row(self) -> tuple[object, ...]:
        return row(NPS_CERTIFICATIONS, self.__dict__)


def certificate_insert(raw_schema: str, placeholder: str) -> str:
    return insert_values(f"{raw_schema}.nps_certifications", NPS_CERTIFICATIONS, placeholder)


def loads_row(manifest: Manifest, replaced: int, loaded_at: dt.datetime) -> tuple[object, ...]:
    """This load's raw.nps_loads row, in the table's column order."""
    return row(
        NPS_LOADS,
        {
            "run_date": manifest.run_date,
            "extract_id": manifest.extract_id,
            "rows_loaded": manifest.rows,
            "rows_replaced": replaced,
            "files": len(manifest.files),
            "bytes": manifest.bytes,
            "window_start": manifest.window_start,
            "window_end": manifest.window_end,
            "loader_version": manifest.loader_version,
            "loaded_at": loaded_at,
            "reporting_timezone": manifest.reporting_timezone,
            "kind": manifest.kind,
            "source_timezone": manifest.source_timezone,
        },
    )


def checked_extract(
    lake: Lake, run_date: dt.date, run: Callable[[str], list[tuple[Any, ...]]], raw_schema: str
) -> tuple[Extract, LoadLog]:
    """The day's latest extract, read while the caller holds the load lock, once it has passed
    the zone and load-window checks against the load log (read with ``run``, the caller's cursor)."""
    log = read_log(run, raw_schema, run_date)
    extract = Extract.latest(lake, run_date)
    manifest = extract.manifest
    check_zone(manifest.reporting_timezone, manifest.changes_reporting_timezone, log)
    check(manifest.window_start, manifest.window_end, run_date, log)
    return extract, log


#: raw.nps_loads' columns in a warehouse the loader has opened to write (upgraded)
ALL_COLUMNS = frozenset(c.name for c in NPS_LOADS)


def read_log(
    run: Callable[[str], list[tuple[Any, ...]]], raw_schema: str, run_date: dt.date
) -> LoadLog:
    windows_sql, zone_sql = load_log_queries(raw_schema, run_date, ALL_COLUMNS)
    zones = run(zone_sql) if zone_sql else []
    return LoadLog.from_rows(run(windows_sql), str(zones[0][0]) if zones else None)
