"""A warehouse or a lake written by an older loader is brought up to this one (loader/upgrade.py):
each revision of the raw tables, opened by this loader, gets the columns it lacks and keeps its
rows, and a day loads on it; an old manifest reads as what its missing fields meant."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from loader.dbt_profile import Target
from loader.lake.manifest import Manifest
from loader.tables import NPS_LOADS, RAW_NPS, create_table
from loader.upgrade import REVISION, STEPS, manifest_body
from loader.warehouse import open_warehouse
from loader.warehouse.duckdb import peek_load_log
from tests.support.samples import manifest

D = dt.date(2021, 7, 1)


def _as_of(revision: int, table: str, columns: tuple) -> tuple:  # type: ignore[type-arg]
    later = {c.name for s in STEPS if s.revision > revision and s.table == table for c in s.columns}
    return tuple(c for c in columns if c.name not in later)


@pytest.mark.parametrize("revision", range(REVISION))
def test_a_duckdb_warehouse_of_each_revision_is_upgraded_when_opened(
    tmp_path: Path, revision: int
) -> None:
    path = str(tmp_path / "warehouse.duckdb")
    con = duckdb.connect(path)
    con.execute("create schema raw")
    nps_columns = _as_of(revision, "nps", RAW_NPS)
    loads_columns = _as_of(revision, "nps_loads", NPS_LOADS)
    con.execute(create_table("raw.nps", nps_columns))
    con.execute(create_table("raw.nps_loads", loads_columns))
    old = {
        "run_date": D - dt.timedelta(days=1),
        "extract_id": "old",
        "rows_loaded": 1,
        "rows_replaced": 0,
        "files": 1,
        "bytes": 1,
        "window_start": dt.datetime(2021, 6, 29, 23),
        "window_end": dt.datetime(2021, 7, 1),
        "loader_version": "0.0.1",
        "loaded_at": dt.datetime(2021, 7, 1, 0, 5),
        "reporting_timezone": "UTC",
        "kind": "day",
        "source_timezone": "UTC",
    }
    values = [old[c.name] for c in loads_columns]
    con.execute(f"insert into raw.nps_loads values ({', '.join('?' * len(values))})", values)
    con.close()

    # the extract's read-only peek reads the old form as it is, without writing
    log = peek_load_log(path, "raw", D)
    assert log is not None and set(log.windows) == {D - dt.timedelta(days=1)}
    assert log.zone == ("UTC" if revision >= 1 else None)

    warehouse = open_warehouse(Target("dev", "duckdb", {"path": path}), "raw")
    try:
        for table, columns in (("nps", RAW_NPS), ("nps_loads", NPS_LOADS)):
            present = [
                row[0]
                for row in warehouse.query(
                    "select column_name from information_schema.columns where "
                    "table_schema = 'raw' and table_name = %s order by ordinal_position",
                    (table,),
                )
            ]
            assert present == [c.name for c in columns], (revision, table)
        assert warehouse.query("select extract_id from raw.nps_loads", ()) == [("old",)]
        assert warehouse.load_log(D).windows[D - dt.timedelta(days=1)].end == dt.datetime(
            2021, 7, 1
        )
    finally:
        warehouse.close()


def test_a_manifest_of_an_older_loader_reads_as_what_its_missing_fields_meant() -> None:
    body = json.loads(manifest().to_json())
    for field in ("reporting_timezone", "changes_reporting_timezone", "kind", "end_date"):
        body.pop(field)
    for field in ("source_timezone", "bounds"):
        body.pop(field, None)
    read = Manifest.from_json(json.dumps(body).encode(), "old manifest")
    assert (read.kind, read.reporting_timezone, read.source_timezone) == ("day", None, None)
    assert read.changes_reporting_timezone is False and read.bounds is None
    assert manifest_body({"kind": "reconcile"})["kind"] == "reconcile"
