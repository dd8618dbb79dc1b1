"""Amazon Redshift: ``COPY ... FORMAT AS PARQUET MANIFEST`` from the S3 lake inside one transaction.

All the Redshift SQL of the loader lives here. Redshift cannot be reached from the test machines,
so :func:`load_statements` is a pure function whose output the tests check statement by
statement. What runs for real on PostgreSQL is the rest of the load's protocol (lock, the lake's
latest extract read under it, the zone and coverage checks, delete, insert, audit, count check,
commit); PostgreSQL ingests by binary COPY from Arrow, so the stage table and COPY are checked
here only (and parsed under a Redshift grammar by tests/test_redshift_compile.py).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from loader.coverage import LoadLog
from loader.errors import ConfigError, WarehouseError, first_line
from loader.lake import Lake
from loader.lake.manifest import Manifest
from loader.lake.reader import Extract
from loader.profile import Target
from loader.tables import (
    ADDED_COLUMNS,
    CORRECTION_COLUMNS,
    LOADED_COLUMNS,
    NPS_LOADS,
    RAW_NPS,
    SOURCE_COLUMNS,
    Column,
    column_list,
    insert_values,
)
from loader.warehouse import (
    LoadResult,
    checked_extract,
    loads_row,
    raw_ddl,
    read_log,
    utc_now,
)
from loader.warehouse.libpq import connect, run_query, stream_query

_S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/[A-Za-z0-9_.=\-/]*)?$")
_IAM_ROLE = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_\-/]{1,512}$")

#: Distribute raw rows by id (the dedupe joins on it) and sort by load partition.
RAW_TABLE_SUFFIX = " diststyle key distkey (id) compound sortkey (_run_date, _loaded_at)"
STAGE_TABLE = "nps_stage"


@dataclass(frozen=True)
class Statement:
    sql: str
    params: tuple[object, ...] = ()
    #: "count" returns the COPY's row count, "delete" the rows replaced, "audit" logs the load
    kind: str = ""


def _literal(value: str, pattern: re.Pattern[str], what: str) -> str:
    """COPY takes its source and role as literals, not parameters: validate, then quote."""
    if not pattern.match(value):
        raise ConfigError(f"{what} {value!r} is not valid")
    return "'" + value.replace("'", "''") + "'"


def copy_statement(copy_manifest_uri: str, iam_role: str) -> Statement:
    source = _literal(copy_manifest_uri, _S3_URI, "the COPY manifest URI")
    role = _literal(iam_role, _IAM_ROLE, "NPS_REDSHIFT_IAM_ROLE")
    return Statement(f"copy {STAGE_TABLE} from {source} iam_role {role} format as parquet manifest")


def lock_statement(raw_schema: str) -> Statement:
    """Concurrent loaders queue here; Redshift has no advisory locks."""
    return Statement(f"lock table {raw_schema}.nps")


#: Which of the columns later loaders added to the raw tables they already have.
MISSING_COLUMNS_SQL = (
    "select table_name, column_name from information_schema.columns "
    "where table_schema = %s and table_name in ('nps', 'nps_loads')"
)


def migration_statements(raw_schema: str, present: set[tuple[str, str]]) -> list[str]:
    """Redshift has no ``add column if not exists``: add what ``present`` ((table, column) of
    the raw tables) lacks."""
    return [
        f"alter table {raw_schema}.{table} add column {column.name} {column.sql}"
        for table, columns in ADDED_COLUMNS.items()
        for column in columns
        if (table, column.name) not in present
    ]


def _stage_and_copy(
    raw_schema: str, columns: tuple[Column, ...], copy_manifest_uri: str, iam_role: str
) -> list[Statement]:
    """The lock (taken first by the load; taking it again is a no-op), a temp stage table of
    ``columns`` in the Parquet's column order (COPY maps Parquet by position), the COPY, and
    its row count."""
    return [
        lock_statement(raw_schema),
        Statement(
            f"create temp table {STAGE_TABLE} ({', '.join(f'{c.name} {c.sql}' for c in columns)})"
        ),
        copy_statement(copy_manifest_uri, iam_role),
        Statement("select pg_last_copy_count()", kind="count"),
    ]


def load_statements(
    raw_schema: str,
    manifest: Manifest,
    copy_manifest_uri: str,
    iam_role: str,
    loaded_at: dt.datetime,
) -> list[Statement]:
    """The statements of one day's load, to run between ``begin`` and ``commit``.

    The Parquet columns are in the order of the stage table (COPY maps Parquet by position).
    ``delete`` rather than ``truncate``, which would commit the transaction half-way.
    """
    raw = raw_schema
    return [
        *_stage_and_copy(raw, SOURCE_COLUMNS, copy_manifest_uri, iam_role),
        Statement(
            f"delete from {raw}.nps where _run_date = %s and _correction is null",
            (manifest.run_date,),
            kind="delete",
        ),
        Statement(
            f"insert into {raw}.nps ({column_list(LOADED_COLUMNS)}) select "
            f"{column_list(SOURCE_COLUMNS)}, %s, %s, %s from {STAGE_TABLE}",
            (manifest.run_date, manifest.extract_id, loaded_at),
        ),
        Statement(
            insert_values(f"{raw}.nps_loads", NPS_LOADS, "%s"),
            # rows_replaced (-1 here) is filled in from the delete's row count at run time
            loads_row(manifest, -1, loaded_at),
            kind="audit",
        ),
        Statement(f"drop table {STAGE_TABLE}"),
    ]


def correction_statements(
    raw_schema: str,
    manifest: Manifest,
    copy_manifest_uri: str,
    iam_role: str,
    loaded_at: dt.datetime,
) -> list[Statement]:
    """The statements of a reconcile's load, to run between ``begin`` and ``commit``: COPY the
    corrections (CORRECTION_COLUMNS, by position) into a stage table, append them to raw.nps
    with the load's id and time, log the load as a reconcile. Nothing is deleted."""
    raw = raw_schema
    return [
        *_stage_and_copy(raw, CORRECTION_COLUMNS, copy_manifest_uri, iam_role),
        Statement(
            f"insert into {raw}.nps ({column_list(RAW_NPS)}) select "
            f"{column_list(SOURCE_COLUMNS)}, _run_date, %s, %s, _supersedes, _correction "
            f"from {STAGE_TABLE}",
            (manifest.extract_id, loaded_at),
        ),
        Statement(
            insert_values(f"{raw}.nps_loads", NPS_LOADS, "%s"),
            loads_row(manifest, 0, loaded_at),
            kind="audit",
        ),
        Statement(f"drop table {STAGE_TABLE}"),
    ]


def iam_role(target: Target) -> str:
    role = os.environ.get("NPS_REDSHIFT_IAM_ROLE") or str(target.settings.get("iam_role", ""))
    if not role:
        raise ConfigError(
            "loading into Redshift needs NPS_REDSHIFT_IAM_ROLE (a role Redshift can assume to read the lake)"
        )
    return role


def check_settings(target: Target, lake_url: str) -> None:
    """What a Redshift load needs that is known before anything is extracted."""
    iam_role(target)
    if not lake_url.startswith("s3://"):
        raise ConfigError(_NEEDS_S3)


_NEEDS_S3 = "Redshift loads COPY from S3: set --lake / NPS_LAKE_URL to s3://bucket/prefix"


class RedshiftWarehouse:
    def __init__(self, target: Target, raw_schema: str) -> None:
        self.raw_schema = raw_schema
        self.iam_role = iam_role(target)
        self.conn: Any = connect(target)
        ddl = raw_ddl(raw_schema, RAW_TABLE_SUFFIX)
        with self.conn, self.conn.cursor() as cur:
            for statement in ddl:
                cur.execute(statement)
            cur.execute(MISSING_COLUMNS_SQL, (raw_schema,))
            present = {(row[0], row[1]) for row in cur.fetchall()}
            for statement in migration_statements(raw_schema, present):
                cur.execute(statement)

    def load_log(self, run_date: dt.date) -> LoadLog:
        return read_log(lambda sql: run_query(self.conn, sql, ()), self.raw_schema, run_date)

    def replace_day(self, lake: Lake, run_date: dt.date) -> LoadResult:
        import psycopg2

        if not lake.url.startswith("s3://"):
            raise ConfigError(_NEEDS_S3)
        replaced = 0
        try:
            with self.conn, self.conn.cursor() as cur:
                cur.execute(lock_statement(self.raw_schema).sql)

                def rows(sql: str) -> list[tuple[Any, ...]]:
                    cur.execute(sql)
                    return list(cur.fetchall())

                # Under the lock: the lake's latest extract and the stamp that orders this load.
                extract, _ = checked_extract(lake, run_date, rows, self.raw_schema)
                manifest = extract.manifest
                extract.verify()  # every part's checksum, before Redshift copies it from S3
                uri = extract.uri(manifest.copy_manifest_key)
                loaded_at = utc_now()
                statements = load_statements(
                    self.raw_schema, manifest, uri, self.iam_role, loaded_at
                )
                for statement in statements:
                    params = statement.params
                    if statement.kind == "audit":
                        params = loads_row(manifest, replaced, loaded_at)
                    cur.execute(statement.sql, params or None)
                    if statement.kind == "count":
                        copied = int(cur.fetchone()[0])
                        if copied != manifest.rows:
                            raise WarehouseError(
                                f"COPY loaded {copied} rows for {manifest.run_date}, the manifest has {manifest.rows}"
                            )
                    elif statement.kind == "delete":
                        replaced = cur.rowcount
        except psycopg2.Error as exc:
            raise WarehouseError(
                f"loading {run_date} into Redshift failed: {first_line(exc)}"
            ) from None
        return LoadResult(
            manifest.run_date, manifest.extract_id, manifest.rows, replaced, loaded_at
        )

    def load_corrections(self, extract: Extract) -> LoadResult:
        import psycopg2

        if not extract.lake.url.startswith("s3://"):
            raise ConfigError(_NEEDS_S3)
        manifest = extract.manifest
        try:
            with self.conn, self.conn.cursor() as cur:
                cur.execute(lock_statement(self.raw_schema).sql)
                extract.verify()  # every part's checksum, before Redshift copies it from S3
                loaded_at = utc_now()
                for statement in correction_statements(
                    self.raw_schema,
                    manifest,
                    extract.uri(manifest.copy_manifest_key),
                    self.iam_role,
                    loaded_at,
                ):
                    cur.execute(statement.sql, statement.params or None)
                    if statement.kind == "count" and int(cur.fetchone()[0]) != manifest.rows:
                        raise WarehouseError(
                            f"COPY loaded fewer corrections than the manifest's {manifest.rows}"
                        )
        except psycopg2.Error as exc:
            raise WarehouseError(
                f"loading the corrections into Redshift failed: {first_line(exc)}"
            ) from None
        return LoadResult(manifest.run_date, manifest.extract_id, manifest.rows, 0, loaded_at)

    def stream(self, sql: str, params: Sequence[object]) -> Iterator[tuple[Any, ...]]:
        return stream_query(self.conn, sql, params)

    def query(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        return run_query(self.conn, sql, params)

    def close(self) -> None:
        self.conn.close()
