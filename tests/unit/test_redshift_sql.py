"""Redshift cannot be reached from here: test the SQL the loader would send, statement by statement.

The load's protocol around them (lock, checks, delete, insert, audit, count check, commit) runs
for real on PostgreSQL in the end-to-end tests; the stage table and COPY are Redshift's alone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from loader.errors import ConfigError
from loader.lake.manifest import Manifest
from loader.source import EXTRACT_SCHEMA
from loader.tables import CORRECTION_SCHEMA, NPS_LOADS, RAW_NPS
from loader.upgrade import missing_columns
from loader.warehouse import raw_ddl
from loader.warehouse.redshift import (
    RAW_TABLE_SUFFIX,
    STAGE_TABLE,
    correction_statements,
    load_statements,
)
from tests.support.samples import LOADED_AT, ROLE, URI, manifest


def test_load_is_lock_delete_stage_copy_count_bounds_insert_audit_in_that_order() -> None:
    statements = load_statements("raw", manifest(), URI, ROLE, LOADED_AT)
    sql = [s.sql for s in statements]
    assert sql[0] == "lock table raw.nps"
    # a reconcile's corrections in the day's partition are not the day's load: they stay
    assert sql[1] == "delete from raw.nps where _run_date = %s and _correction is null"
    assert statements[1].params == (dt.date(2021, 9, 16),)
    assert sql[2].startswith(
        f"create temp table {STAGE_TABLE} (id bigint, created_at timestamp, modified timestamp, deleted boolean, score smallint)"
    )
    assert sql[3] == f"copy {STAGE_TABLE} from '{URI}' iam_role '{ROLE}' format as parquet manifest"
    assert sql[4] == "select pg_last_copy_count()" and statements[4].kind == "count"
    assert statements[5].kind == "bounds" and "min(created_at), max(created_at)" in sql[5]
    assert sql[6].startswith(
        "insert into raw.nps (id, created_at, modified, deleted, score, _run_date, _extract_id, _loaded_at) select"
    )
    assert statements[6].params == (
        dt.date(2021, 9, 16),
        "20210917T003000000000Z-ab12cd34",
        LOADED_AT,
    )
    assert sql[7] == f"drop table {STAGE_TABLE}"
    assert sql[8].startswith("insert into raw.nps_loads values") and statements[8].kind == "audit"
    assert not any("truncate" in s.lower() or "commit" in s.lower() for s in sql), (
        "truncate or commit would end the transaction early"
    )


def reconcile_manifest() -> Manifest:
    return dataclasses.replace(manifest(), kind="reconcile", end_date=dt.date(2021, 9, 30), rows=4)


def test_reconcile_load_is_lock_stage_copy_count_insert_audit_and_deletes_nothing() -> None:
    statements = correction_statements("raw", reconcile_manifest(), URI, ROLE, LOADED_AT)
    sql = [s.sql for s in statements]
    assert sql[0] == "lock table raw.nps"
    stage = sql[1]
    inner = stage[stage.index("(") + 1 : stage.rindex(")")]
    # COPY maps Parquet by position: the stage lists the corrections' columns in their order
    assert [c.split()[0] for c in inner.split(",")] == CORRECTION_SCHEMA.names
    assert sql[2] == f"copy {STAGE_TABLE} from '{URI}' iam_role '{ROLE}' format as parquet manifest"
    assert statements[3].kind == "count" and statements[4].kind == "bounds"
    staged = [c.name for c in RAW_NPS if c.name not in ("_extract_id", "_loaded_at")]
    assert sql[5] == (
        f"insert into raw.nps ({', '.join([*staged, '_extract_id', '_loaded_at'])}) select "
        f"{', '.join(staged)}, %s, %s from {STAGE_TABLE}"
    )
    assert statements[5].params == ("20210917T003000000000Z-ab12cd34", LOADED_AT)
    assert sql[7].startswith("insert into raw.nps_loads values") and statements[7].kind == "audit"
    kind = [c.name for c in NPS_LOADS].index("kind")
    assert statements[7].params[kind] == "reconcile"  # raw.nps_loads.kind
    assert not any(s.lower().startswith(("delete", "truncate", "commit")) for s in sql)


def test_migrations_add_the_correction_and_kind_columns_a_table_lacks() -> None:
    old = {("nps", c.name) for c in RAW_NPS[:8]} | {("nps_loads", "reporting_timezone")}
    assert missing_columns("raw", old) == [
        "alter table raw.nps add column _supersedes timestamp",
        "alter table raw.nps add column _correction varchar(32)",
        "alter table raw.nps_loads add column kind varchar(16)",
        "alter table raw.nps_loads add column source_timezone varchar(64)",
    ]
    everything = old | {
        ("nps", "_supersedes"),
        ("nps", "_correction"),
        ("nps_loads", "kind"),
        ("nps_loads", "source_timezone"),
    }
    assert missing_columns("raw", everything) == []


def test_stage_columns_follow_the_parquet_column_order() -> None:
    """COPY maps Parquet columns by position, so the stage table must list them in extract order."""
    stage = load_statements("raw", manifest(), URI, ROLE, LOADED_AT)[2].sql
    inner = stage[stage.index("(") + 1 : stage.rindex(")")]
    assert [c.split()[0] for c in inner.split(",")] == EXTRACT_SCHEMA.names


def test_raw_table_is_distributed_by_id_and_sorted_by_load_partition() -> None:
    ddl = raw_ddl("raw", RAW_TABLE_SUFFIX)[1]
    assert ddl.rstrip().endswith(
        "diststyle key distkey (id) compound sortkey (_run_date, _loaded_at)"
    )


@pytest.mark.parametrize(
    ("uri", "role"),
    [
        ("s3://bucket/x' iam_role 'arn:aws:iam::1:role/evil", ROLE),
        ("/local/folder/copy.manifest", ROLE),
        (URI, "arn:aws:iam::123456789012:role/x'; drop table raw.nps; --"),
        (URI, "not-an-arn"),
    ],
)
def test_copy_literals_are_validated_not_trusted(uri: str, role: str) -> None:
    with pytest.raises(ConfigError):
        load_statements("raw", manifest(), uri, role, LOADED_AT)
