"""The raw tables, each defined once: name, SQL type and Arrow type of every column.

The DDL (DuckDB, PostgreSQL and Redshift all accept it), the extract's Parquet schema, the
Redshift stage table, PostgreSQL's audit rows (ADBC ingest) and every insert's column list are
derived from these definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa


@dataclass(frozen=True)
class Column:
    name: str
    sql: str
    arrow: pa.DataType
    nullable: bool = True

    @property
    def ddl(self) -> str:
        return f"{self.name} {self.sql}" + ("" if self.nullable else " not null")


#: The source's columns as every extract holds them, in the column order of raw.nps (Redshift's
#: COPY maps Parquet columns by position).
SOURCE_COLUMNS: tuple[Column, ...] = (
    Column("id", "bigint", pa.int64(), nullable=False),
    Column("created_at", "timestamp", pa.timestamp("us")),
    Column("modified", "timestamp", pa.timestamp("us")),
    Column("deleted", "boolean", pa.bool_()),
    Column("score", "smallint", pa.int16()),
)

#: raw.nps: every version of every row as the source had it, and which load brought it.
RAW_NPS: tuple[Column, ...] = (
    *SOURCE_COLUMNS,
    Column("_run_date", "date", pa.date32(), nullable=False),
    Column("_extract_id", "varchar(64)", pa.string(), nullable=False),
    Column("_loaded_at", "timestamp", pa.timestamp("us"), nullable=False),
    #: reconcile corrections only (null on the rows of a day's load): the version this row takes
    #: the place of (it sorts as if its cursor were this), and what it corrects
    Column("_supersedes", "timestamp", pa.timestamp("us")),
    Column("_correction", "varchar(32)", pa.string()),
)

#: raw.nps_loads: one row per load (the audit, and the windows every load is checked against).
NPS_LOADS: tuple[Column, ...] = (
    Column("run_date", "date", pa.date32(), nullable=False),
    Column("extract_id", "varchar(64)", pa.string(), nullable=False),
    Column("rows_loaded", "bigint", pa.int64(), nullable=False),
    Column("rows_replaced", "bigint", pa.int64(), nullable=False),
    Column("files", "integer", pa.int32(), nullable=False),
    Column("bytes", "bigint", pa.int64(), nullable=False),
    Column("window_start", "timestamp", pa.timestamp("us"), nullable=False),
    Column("window_end", "timestamp", pa.timestamp("us"), nullable=False),
    Column("loader_version", "varchar(32)", pa.string(), nullable=False),
    Column("loaded_at", "timestamp", pa.timestamp("us"), nullable=False),
    Column("reporting_timezone", "varchar(64)", pa.string()),
    #: "day" (a day's load) or "reconcile" (corrections; null in rows of older loaders: a day)
    Column("kind", "varchar(16)", pa.string()),
    #: what the source's naive DATETIME values meant to the load (null in rows of older loaders)
    Column("source_timezone", "varchar(64)", pa.string()),
)

#: raw.nps_certifications: one row each time verify (or reconcile) proved a day of the marts
#: equal to the source; nps_summary_daily.certified_at reads it.
NPS_CERTIFICATIONS: tuple[Column, ...] = (
    Column("response_date", "date", pa.date32(), nullable=False),
    Column("reporting_timezone", "varchar(64)", pa.string(), nullable=False),
    #: "counts" (promoters, passives, detractors compared) or "fingerprint" (every row's id,
    #: created_at, modified, deleted and score, by an order-independent digest)
    Column("compared", "varchar(16)", pa.string(), nullable=False),
    Column("source_rows", "bigint", pa.int64(), nullable=False),
    Column("digest", "varchar(64)", pa.string()),
    Column("certified_at", "timestamp", pa.timestamp("us"), nullable=False),
    Column("command", "varchar(16)", pa.string(), nullable=False),
)

#: raw.nps's columns that a day's load fills (the corrections' two stay null). Columns a later
#: version added sit at a table's end (loader/upgrade.py adds them to older tables).
LOADED_COLUMNS: tuple[Column, ...] = tuple(
    c for c in RAW_NPS if c.name not in ("_supersedes", "_correction")
)

#: What a reconcile writes to the lake: the corrected rows as the source has them (or, for a
#: response deleted from the source, its last loaded version flagged deleted), the day it
#: belongs to, and the two correction columns.
CORRECTION_COLUMNS: tuple[Column, ...] = (
    *SOURCE_COLUMNS,
    Column("_run_date", "date", pa.date32(), nullable=False),
    Column("_supersedes", "timestamp", pa.timestamp("us"), nullable=False),
    Column("_correction", "varchar(32)", pa.string(), nullable=False),
)
CORRECTION_SCHEMA = pa.schema(
    [pa.field(c.name, c.arrow, nullable=c.nullable) for c in CORRECTION_COLUMNS]
)

#: What a reconcile correction corrects, in raw.nps._correction (int_nps_daily_counts.sql
#: reads the first; tests/unit/test_front_door.py holds the two spellings equal).
DELETED, DIFFERS, NEVER_LOADED = "deleted_from_source", "content_differs", "never_loaded"

#: What a load is, in raw.nps_loads.kind and an extract's manifest: a day's or a reconcile's.
LoadKind = Literal["day", "reconcile"]
#: Selects the loads of days (the windows load_windows and verify read), not reconciles.
DAY_LOADS = "coalesce(kind, 'day') = 'day'"

#: Every extract's schema: the source columns.
EXTRACT_SCHEMA = pa.schema([pa.field(c.name, c.arrow, nullable=c.nullable) for c in SOURCE_COLUMNS])


def arrow_schema(columns: tuple[Column, ...]) -> pa.Schema:
    return pa.schema([pa.field(c.name, c.arrow) for c in columns])


def column_list(columns: tuple[Column, ...]) -> str:
    return ", ".join(c.name for c in columns)


def create_table(name: str, columns: tuple[Column, ...], suffix: str = "") -> str:
    body = ",\n            ".join(c.ddl for c in columns)
    return f"create table if not exists {name} (\n            {body}\n        ){suffix}"


def insert_values(name: str, columns: tuple[Column, ...], placeholder: str) -> str:
    """``insert into name values (placeholders)``, one per column, in the table's order."""
    return f"insert into {name} values ({', '.join([placeholder] * len(columns))})"


def row(columns: tuple[Column, ...], values: dict[str, Any]) -> tuple[Any, ...]:
    """The values of one row in the columns' order (every column must be given)."""
    return tuple(values[c.name] for c in columns)
