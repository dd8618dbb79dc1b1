"""What older versions of the loader left behind, brought up to this one: every compatibility
rule in one place.

The raw tables grew by revisions; each :class:`Step` names the revision it brings a warehouse
to, what a warehouse before it lacks, and the columns it adds. Every step is idempotent, and the
warehouse modules run them in order whenever they open a warehouse to write (PostgreSQL under
its load lock): :func:`add_columns` (DuckDB, PostgreSQL: ``add column if not exists``) or
:func:`missing_columns` (Redshift has no ``if not exists``: AWS, ALTER TABLE,
https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE.html), then on PostgreSQL
:data:`POSTGRES_INDEX_STEP`.

Two readers never write, so they read the old form as it is instead: the read-only peek at
DuckDB's load log before an extract (which must not lock the file: :func:`load_log_queries`),
and a manifest in the lake (:func:`manifest_body`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from loader.tables import DAY_LOADS, NPS_LOADS, RAW_NPS, Column


@dataclass(frozen=True)
class Step:
    revision: int
    #: what the warehouses before this revision lack
    serves: str
    table: str
    columns: tuple[Column, ...]


def _columns(table: tuple[Column, ...], *names: str) -> tuple[Column, ...]:
    return tuple(c for c in table if c.name in names)


#: The raw tables' revisions, oldest first (revision 0: raw.nps and raw.nps_loads as the first
#: loader made them; raw.nps_certifications is created whole when missing).
STEPS: tuple[Step, ...] = (
    Step(
        1,
        "raw.nps_loads before the reporting zone of each load was recorded",
        "nps_loads",
        _columns(NPS_LOADS, "reporting_timezone"),
    ),
    Step(
        2,
        "raw tables before reconcile: no corrections in raw.nps, no kind of load",
        "nps",
        _columns(RAW_NPS, "_supersedes", "_correction"),
    ),
    Step(2, "(the same revision)", "nps_loads", _columns(NPS_LOADS, "kind")),
    Step(
        3,
        "raw.nps_loads before the source zone of each load was recorded",
        "nps_loads",
        _columns(NPS_LOADS, "source_timezone"),
    ),
)

#: The newest revision: what this loader writes.
REVISION = max(step.revision for step in STEPS)


def add_columns(raw_schema: str) -> list[str]:
    """Every step, as ``add column if not exists`` (DuckDB and PostgreSQL)."""
    return [
        f"alter table {raw_schema}.{step.table} add column if not exists {c.name} {c.sql}"
        for step in STEPS
        for c in step.columns
    ]


#: (table, column) of the raw tables as they are: what :func:`missing_columns` is given.
PRESENT_COLUMNS_SQL = (
    "select table_name, column_name from information_schema.columns "
    "where table_schema = %s and table_name in ('nps', 'nps_loads')"
)


def missing_columns(raw_schema: str, present: Collection[tuple[str, str]]) -> list[str]:
    """The steps' columns that ``present`` lacks, as plain ``add column`` (Redshift)."""
    return [
        f"alter table {raw_schema}.{step.table} add column {c.name} {c.sql}"
        for step in STEPS
        for c in step.columns
        if (step.table, c.name) not in present
    ]


def postgres_indexes(raw_schema: str) -> list[str]:
    """PostgreSQL's raw.nps indexes, for what reads raw.nps by load: a day's replacement and
    dbt's batch (``_run_date``), the since-last-run watermark (``_loaded_at``). BRIN, which costs
    a load little (docs/performance.md): each load appends its rows together, so block ranges
    summarize them well, and ``minmax_multi`` keeps a range useful when a re-loaded day fills
    holes that another day's replacement left. The B-trees an earlier version made on the same
    columns are dropped."""
    return [
        f"create index if not exists nps_run_date_brin on {raw_schema}.nps "
        "using brin (_run_date date_minmax_multi_ops)",
        f"create index if not exists nps_loaded_at_brin on {raw_schema}.nps "
        "using brin (_loaded_at timestamp_minmax_multi_ops)",
        f"drop index if exists {raw_schema}.nps_run_date_idx",
        f"drop index if exists {raw_schema}.nps_loaded_at_idx",
    ]


def load_log_queries(
    raw_schema: str, run_date: dt.date, present: Collection[str]
) -> tuple[str, str | None]:
    """The two reads of raw.nps_loads a load log is built from (the windows of the days around
    ``run_date``, the newest reporting zone), for a table with the columns ``present``: before
    revision 1 it recorded no zone (None), before revision 2 every load was a day's."""
    first, last = run_date - dt.timedelta(days=1), run_date + dt.timedelta(days=1)
    windows = (
        f"select run_date, window_start, window_end, loaded_at from {raw_schema}.nps_loads "
        f"where run_date between date '{first.isoformat()}' and date '{last.isoformat()}'"
        + (f" and {DAY_LOADS}" if "kind" in present else "")
    )
    zone = (
        f"select reporting_timezone from {raw_schema}.nps_loads "
        "where reporting_timezone is not null order by loaded_at desc limit 1"
    )
    return windows, zone if "reporting_timezone" in present else None


#: What a manifest written before each field existed means by its absence.
MANIFEST_DEFAULTS: dict[str, Any] = {
    "reporting_timezone": None,  # the zone is unknown: not checked against the warehouse's
    "changes_reporting_timezone": False,
    "kind": "day",  # reconciles came with the field
    "end_date": None,
    "source_timezone": None,  # the source zone is unknown: not checked
    "bounds": None,  # nothing to check a Redshift COPY against
}


def manifest_body(body: dict[str, Any]) -> dict[str, Any]:
    """A manifest's JSON with the fields an older loader did not write set to what their
    absence meant."""
    return {**MANIFEST_DEFAULTS, **{k: v for k, v in body.items() if v is not None}}
