"""Amazon Redshift: ``COPY ... FORMAT AS PARQUET MANIFEST`` from the S3 lake inside one transaction.

All the Redshift SQL of the loader lives here; the load's steps are loader.warehouse.flow's.
:func:`load_statements` lists a day's load statement by statement (unit-tested), and the tests
run every statement for real on the emulated Redshift (dev/redshift_emulator).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from loader.dbt_profile import Target
from loader.errors import ConfigError, WarehouseError, first_line
from loader.lake.manifest import Manifest
from loader.lake.reader import Extract
from loader.lake.writer import BOUNDED_COLUMNS
from loader.tables import (
    CORRECTION_COLUMNS,
    LOADED_COLUMNS,
    NPS_LOADS,
    RAW_NPS,
    SOURCE_COLUMNS,
    Column,
    insert_values,
)
from loader.upgrade import PRESENT_COLUMNS_SQL, missing_columns
from loader.warehouse.base import (
    loads_row,
    raw_ddl,
)
from loader.warehouse.libpq import (
    LibpqWarehouse,
    connect,
    fetch_query,
)

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
    kind: Literal["", "delete", "count", "bounds", "audit"] = ""


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


def delete_statement(raw_schema: str, run_date: dt.date) -> Statement:
    """A day's loaded rows; a reconcile's corrections in the day's partition stay. ``delete``
    rather than ``truncate``, which would commit the transaction half-way."""
    return Statement(
        f"delete from {raw_schema}.nps where _run_date = %s and _correction is null",
        (run_date,),
        kind="delete",
    )


def stage_statements(
    columns: tuple[Column, ...], copy_manifest_uri: str, iam_role: str
) -> list[Statement]:
    """A temp stage table of the extract's ``columns`` in the Parquet's column order (COPY maps
    Parquet by position), the COPY, its row count, and what it staged of the timestamps (checked
    against the manifest: a COPY that mapped a Parquet type wrongly fails here, in the load's
    transaction, naming the column and value)."""
    return [
        Statement(
            f"create temp table {STAGE_TABLE} ({', '.join(f'{c.name} {c.sql}' for c in columns)})"
        ),
        copy_statement(copy_manifest_uri, iam_role),
        Statement("select pg_last_copy_count()", kind="count"),
        Statement(
            "select "
            + ", ".join(f"min({c}), max({c})" for c in BOUNDED_COLUMNS)
            + f" from {STAGE_TABLE}",
            kind="bounds",
        ),
    ]


def insert_statement(
    raw_schema: str, columns: tuple[Column, ...], stamps: dict[str, object]
) -> Statement:
    """raw.nps's ``columns`` from the stage table; those the stage lacks are the load's own
    (``stamps``, as parameters)."""
    staged = [c.name for c in columns if c.name not in stamps]
    own = [c.name for c in columns if c.name in stamps]
    select = ", ".join([*staged, *(["%s"] * len(own))])
    return Statement(
        f"insert into {raw_schema}.nps ({', '.join([*staged, *own])}) select {select} "
        f"from {STAGE_TABLE}",
        tuple(stamps[name] for name in own),
    )


def audit_statement(raw_schema: str, row: tuple[object, ...]) -> Statement:
    return Statement(insert_values(f"{raw_schema}.nps_loads", NPS_LOADS, "%s"), row, kind="audit")


def ingest_statements(
    raw_schema: str,
    extract_columns: tuple[Column, ...],
    columns: tuple[Column, ...],
    stamps: dict[str, object],
    copy_manifest_uri: str,
    iam_role: str,
) -> list[Statement]:
    return [
        *stage_statements(extract_columns, copy_manifest_uri, iam_role),
        insert_statement(raw_schema, columns, stamps),
        Statement(f"drop table {STAGE_TABLE}"),
    ]


def load_statements(
    raw_schema: str,
    manifest: Manifest,
    copy_manifest_uri: str,
    iam_role: str,
    loaded_at: dt.datetime,
) -> list[Statement]:
    """Every statement of one day's load, in the order it sends them between ``begin`` and
    ``commit`` (the load log's reads after the lock aside)."""
    stamps = {
        "_run_date": manifest.run_date,
        "_extract_id": manifest.extract_id,
        "_loaded_at": loaded_at,
    }
    return [
        lock_statement(raw_schema),
        delete_statement(raw_schema, manifest.run_date),
        *ingest_statements(
            raw_schema, SOURCE_COLUMNS, LOADED_COLUMNS, stamps, copy_manifest_uri, iam_role
        ),
        # rows_replaced (-1 here) is the delete's row count at run time
        audit_statement(raw_schema, loads_row(manifest, -1, loaded_at)),
    ]


def correction_statements(
    raw_schema: str,
    manifest: Manifest,
    copy_manifest_uri: str,
    iam_role: str,
    loaded_at: dt.datetime,
) -> list[Statement]:
    """Every statement of a reconcile's load: COPY the corrections (CORRECTION_COLUMNS, by
    position) into a stage table, append them to raw.nps with the load's id and time, log the
    load as a reconcile. Nothing is deleted."""
    stamps = {"_extract_id": manifest.extract_id, "_loaded_at": loaded_at}
    return [
        lock_statement(raw_schema),
        *ingest_statements(
            raw_schema, CORRECTION_COLUMNS, RAW_NPS, stamps, copy_manifest_uri, iam_role
        ),
        audit_statement(raw_schema, loads_row(manifest, 0, loaded_at)),
    ]


def check_staged(manifest: Manifest, staged: tuple[Any, ...]) -> None:
    """The staged timestamps' range must lie within what the manifest recorded of the parts: a
    COPY that read a Parquet timestamp with the wrong unit (users report years like 161065,
    apache/arrow#38000) fails the load instead of landing silently."""
    if manifest.bounds is None:
        return  # a manifest of an older loader: the row count is all there is to check
    for i, column in enumerate(BOUNDED_COLUMNS):
        low, high = manifest.bounds.get(column, (None, None))
        for value in (staged[2 * i], staged[2 * i + 1]):
            if value is None:
                if low is not None:
                    raise WarehouseError(
                        f"the COPY staged no {column} where the extract has values from {low}: "
                        "Redshift did not read the Parquet column; nothing was loaded"
                    )
                continue
            text = value.isoformat() if isinstance(value, dt.datetime) else str(value)
            if (
                low is None
                or high is None
                or not (dt.datetime.fromisoformat(low) <= value <= dt.datetime.fromisoformat(high))
            ):
                raise WarehouseError(
                    f"the COPY staged {column} {text}, outside the extract's range "
                    f"[{low}, {high}]: Redshift mapped the Parquet timestamps wrongly; nothing "
                    "was loaded"
                )


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


class RedshiftWarehouse(LibpqWarehouse):
    def __init__(self, target: Target, raw_schema: str) -> None:
        self.raw_schema = raw_schema
        self.iam_role = iam_role(target)
        self.conn: Any = connect(target)
        ddl = raw_ddl(raw_schema, RAW_TABLE_SUFFIX)
        with self.conn, self.conn.cursor() as cur:
            for statement in ddl:
                cur.execute(statement)
            cur.execute(PRESENT_COLUMNS_SQL, (raw_schema,))
            present = {(row[0], row[1]) for row in cur.fetchall()}
            for statement in missing_columns(raw_schema, present):
                cur.execute(statement)

    def check_before_lock(self, extract: Extract) -> None:
        """Every part's size and checksum, before Redshift copies it from S3, and before the
        lock: LOCK takes ACCESS EXCLUSIVE, which makes every reader of raw.nps wait (AWS, LOCK:
        https://docs.aws.amazon.com/redshift/latest/dg/r_LOCK.html)."""
        if not extract.lake.url.startswith("s3://"):
            raise ConfigError(_NEEDS_S3)
        extract.verify()

    @contextlib.contextmanager
    def locked(self, what: str, extract_name: str) -> Iterator[_Session]:
        import psycopg2

        try:
            with self.conn, self.conn.cursor() as cur:
                cur.execute(lock_statement(self.raw_schema).sql)
                yield _Session(cur, self.raw_schema, self.iam_role)
        except psycopg2.Error as exc:
            raise WarehouseError(f"{what} into Redshift failed: {first_line(exc)}") from None

    def stream(self, sql: str, params: Sequence[object]) -> Iterator[tuple[Any, ...]]:
        return fetch_query(self.conn, sql, params)


class _Session:
    """A Redshift load's statements (flow.LoadSession), on the load transaction's cursor."""

    def __init__(self, cur: Any, raw_schema: str, iam_role: str) -> None:
        self.cur = cur
        self.raw = raw_schema
        self.iam_role = iam_role

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        self.cur.execute(sql)
        return list(self.cur.fetchall())

    def delete_day(self, run_date: dt.date) -> int:
        statement = delete_statement(self.raw, run_date)
        self.cur.execute(statement.sql, statement.params)
        return int(self.cur.rowcount)

    def ingest(
        self, extract: Extract, stamps: dict[str, object], columns: tuple[Column, ...]
    ) -> int:
        manifest = extract.manifest
        extract_columns = CORRECTION_COLUMNS if manifest.kind == "reconcile" else SOURCE_COLUMNS
        copied = 0
        for statement in ingest_statements(
            self.raw,
            extract_columns,
            columns,
            stamps,
            extract.uri(manifest.copy_manifest_key),
            self.iam_role,
        ):
            self.cur.execute(statement.sql, statement.params or None)
            if statement.kind == "count":
                copied = int(self.cur.fetchone()[0])
            elif statement.kind == "bounds":
                check_staged(manifest, tuple(self.cur.fetchone()))
        return copied

    def audit(self, row: tuple[object, ...]) -> None:
        statement = audit_statement(self.raw, row)
        self.cur.execute(statement.sql, statement.params)
