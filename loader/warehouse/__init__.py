"""Warehouse targets. Each module owns its SQL; this one holds what they share (the raw DDL,
the load record, the protocol) and picks the module for a dbt target."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from loader.errors import ConfigError
from loader.identifiers import validate_warehouse_identifier
from loader.manifest import Manifest

if TYPE_CHECKING:
    from loader.lake import Lake
from loader.coverage import LoadLog, check, check_zone, log_queries
from loader.extract import Extract
from loader.profile import Target


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

    def load_log(self, run_date: dt.date) -> LoadLog:
        """The loaded windows around ``run_date`` and the warehouse's reporting zone."""
        ...

    def query(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        """Run a read-only query written with ``%s`` placeholders."""
        ...

    def close(self) -> None: ...


def raw_ddl(raw_schema: str, table_suffix: str = "") -> list[str]:
    """Portable DDL for the raw tables (DuckDB, PostgreSQL and Redshift all accept it)."""
    return [
        f"create schema if not exists {raw_schema}",
        f"""create table if not exists {raw_schema}.nps (
            id bigint not null,
            created_at timestamp,
            modified timestamp,
            deleted boolean,
            score smallint,
            _run_date date not null,
            _extract_id varchar(64) not null,
            _loaded_at timestamp not null
        ){table_suffix}""",
        f"""create table if not exists {raw_schema}.nps_loads (
            run_date date not null,
            extract_id varchar(64) not null,
            rows_loaded bigint not null,
            rows_replaced bigint not null,
            files integer not null,
            bytes bigint not null,
            window_start timestamp not null,
            window_end timestamp not null,
            loader_version varchar(32) not null,
            loaded_at timestamp not null,
            reporting_timezone varchar(64)
        )""",
    ]


def raw_migrations(raw_schema: str) -> list[str]:
    """Columns added to raw tables made by older loaders (DuckDB and PostgreSQL syntax; Redshift
    has no ``add column if not exists``: see the Redshift module)."""
    return [
        f"alter table {raw_schema}.nps_loads add column if not exists "
        "reporting_timezone varchar(64)"
    ]


def loads_insert_params(
    manifest: Manifest, replaced: int, loaded_at: dt.datetime
) -> tuple[object, ...]:
    return (
        manifest.run_date,
        manifest.extract_id,
        manifest.rows,
        replaced,
        len(manifest.files),
        manifest.bytes,
        manifest.window_start,
        manifest.window_end,
        manifest.loader_version,
        loaded_at,
        manifest.reporting_timezone,
    )


def checked_extract(
    lake: Lake, run_date: dt.date, run: Callable[[str], list[tuple[Any, ...]]], raw_schema: str
) -> tuple[Extract, LoadLog]:
    """The day's latest extract, read while the caller holds the load lock, once it has passed
    the zone and coverage checks against the load log (read with ``run``, the caller's cursor)."""
    log = read_log(run, raw_schema, run_date)
    extract = Extract.latest(lake, run_date)
    manifest = extract.manifest
    check_zone(manifest.reporting_timezone, manifest.changes_reporting_timezone, log)
    check(manifest.window_start, manifest.window_end, run_date, log)
    return extract, log


def read_log(
    run: Callable[[str], list[tuple[Any, ...]]], raw_schema: str, run_date: dt.date
) -> LoadLog:
    windows_sql, zone_sql = log_queries(raw_schema, run_date)
    zones = run(zone_sql)
    return LoadLog.from_rows(run(windows_sql), str(zones[0][0]) if zones else None)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def check_reachable(target: Target, raw_schema: str) -> None:
    """Raise the error opening the warehouse would raise, without keeping it open or locked."""
    validate_warehouse_identifier(raw_schema, "--raw-schema")
    if target.type == "duckdb":
        from loader.warehouse.duckdb import check_path

        check_path(str(target.settings.get("path", ":memory:")))
    elif target.type in ("postgres", "redshift"):
        from loader.warehouse.postgres import connect

        connect(target).close()
    else:
        open_warehouse(target, raw_schema)  # raises the unsupported-type error


def open_warehouse(target: Target, raw_schema: str) -> Warehouse:
    validate_warehouse_identifier(raw_schema, "--raw-schema")
    if target.type == "duckdb":
        from loader.warehouse.duckdb import DuckDBWarehouse

        return DuckDBWarehouse(target, raw_schema)
    if target.type == "postgres":
        from loader.warehouse.postgres import PostgresWarehouse

        return PostgresWarehouse(target, raw_schema)
    if target.type == "redshift":
        from loader.warehouse.redshift import RedshiftWarehouse

        return RedshiftWarehouse(target, raw_schema)
    raise ConfigError(
        f"dbt target {target.name!r} has type {target.type!r}; use duckdb, postgres or redshift"
    )
