"""Warehouse targets. Each module owns its SQL (DuckDB, PostgreSQL, Redshift); what they share
is in :mod:`loader.warehouse.base`; this one picks the module for a dbt target."""

from __future__ import annotations

from loader.dbt_profile import Target
from loader.errors import ConfigError
from loader.identifiers import validate_warehouse_identifier
from loader.warehouse.base import (
    Certificate,
    LoadResult,
    Warehouse,
    id_ranges,
    raw_ddl,
)

__all__ = [
    "Certificate",
    "LoadResult",
    "Warehouse",
    "check_reachable",
    "id_ranges",
    "open_warehouse",
    "raw_ddl",
]


def check_reachable(target: Target, raw_schema: str, lake_url: str | None = None) -> None:
    """Raise the error opening the warehouse (or, given the lake, loading into it) would raise,
    without keeping it open or locked."""
    validate_warehouse_identifier(raw_schema, "--raw-schema")
    if target.type == "redshift" and lake_url is not None:
        from loader.warehouse.redshift import check_settings

        check_settings(target, lake_url)
    if target.type == "duckdb":
        from loader.warehouse.duckdb import check_path

        check_path(str(target.settings.get("path", ":memory:")))
    elif target.type in ("postgres", "redshift"):
        from loader.warehouse.libpq import connect

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
