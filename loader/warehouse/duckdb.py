"""DuckDB: the embedded default warehouse, a single local file."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb

from loader.dbt_profile import Target
from loader.errors import LakeError, WarehouseError, first_line
from loader.lake.reader import Extract
from loader.load_windows import LoadLog
from loader.tables import NPS_LOADS, Column, insert_values
from loader.upgrade import add_columns, load_log_queries
from loader.warehouse.base import (
    Certificate,
    certificate_insert,
    raw_ddl,
    read_log,
)
from loader.warehouse.flow import FlowLoads


class DuckDBWarehouse(FlowLoads):
    def __init__(self, target: Target, raw_schema: str) -> None:
        self.raw_schema = raw_schema
        self.path = str(target.settings.get("path", ":memory:"))
        check_path(self.path)
        self.con = _connect_waiting(
            self.path, float(os.environ.get("NPS_DUCKDB_LOCK_TIMEOUT", "60"))
        )
        for statement in raw_ddl(raw_schema) + add_columns(raw_schema):
            self.con.execute(statement)

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        return list(self.con.execute(sql).fetchall())

    def load_log(self, run_date: dt.date) -> LoadLog:
        return read_log(self._rows, self.raw_schema, run_date)

    def check_before_lock(self, extract: Extract) -> None:
        """Nothing: each part is checked as the ingest reads it."""

    @contextlib.contextmanager
    def locked(self, what: str, extract_name: str) -> Iterator[_Session]:
        """One load's transaction. The file lock taken when this connection opened is the load
        lock: one process writes a DuckDB file at a time."""
        con = self.con
        con.begin()
        try:
            yield _Session(con, self.raw_schema)
            con.commit()
        except duckdb.ConstraintException as exc:
            con.rollback()
            raise LakeError(
                f"{extract_name} breaks a raw.nps constraint ({first_line(exc)}); "
                "refusing to load: re-run the extract"
            ) from None
        except OSError as exc:  # the temporary folder of the checked parts
            con.rollback()
            raise WarehouseError(
                f"{what} failed writing {exc.filename or 'a temporary file'}: "
                f"{exc.strerror or exc} (free space there or set TMPDIR)"
            ) from None
        except duckdb.Error as exc:
            con.rollback()
            raise WarehouseError(
                f"{what} into DuckDB {self.path} failed: {first_line(exc)}"
            ) from None
        except BaseException:
            con.rollback()
            raise

    def stream(self, sql: str, params: Sequence[object]) -> Iterator[tuple[Any, ...]]:
        try:
            cur = self.con.cursor()
            cur.execute(sql.replace("%s", "?"), list(params))
            while rows := cur.fetchmany(50_000):
                yield from rows
            cur.close()
        except duckdb.CatalogException as exc:
            raise WarehouseError(f"{first_line(exc)} (run dbt on this warehouse first)") from None
        except duckdb.Error as exc:
            raise WarehouseError(first_line(exc)) from None

    def query(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        try:
            return list(self.con.execute(sql.replace("%s", "?"), list(params)).fetchall())
        except duckdb.CatalogException as exc:
            raise WarehouseError(f"{first_line(exc)} (run dbt on this warehouse first)") from None
        except duckdb.Error as exc:
            raise WarehouseError(first_line(exc)) from None

    def query_with_ids(self, sql: str, ids: Sequence[int]) -> list[tuple[Any, ...]]:
        import pyarrow as pa

        name = "nps_ids"
        self.con.register(name, pa.table({"id": pa.array([int(i) for i in ids], pa.int64())}))
        try:
            return self.query(sql.format(ids=name), ())
        finally:
            self.con.unregister(name)

    def certify(self, certificates: Sequence[Certificate]) -> None:
        if not certificates:
            return
        try:
            self.con.begin()
            self.con.executemany(
                certificate_insert(self.raw_schema, "?"), [list(c.row()) for c in certificates]
            )
            self.con.commit()
        except duckdb.Error as exc:
            self.con.rollback()
            raise WarehouseError(f"recording the certificates failed: {first_line(exc)}") from None

    def close(self) -> None:
        self.con.close()


class _Session:
    """A DuckDB load's statements (flow.LoadSession)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, raw_schema: str) -> None:
        self.con = con
        self.raw = raw_schema

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return list(self.con.execute(sql).fetchall())

    def delete_day(self, run_date: dt.date) -> int:
        # DuckDB's delete returns the number of rows it deleted
        return _count(
            self.con,
            f"delete from {self.raw}.nps where _run_date = ? and _correction is null",
            run_date,
        )

    def ingest(
        self, extract: Extract, stamps: dict[str, object], columns: tuple[Column, ...]
    ) -> int:
        """One ``insert ... from read_parquet`` per verified part. DuckDB reads each part with its
        own Parquet reader: a large day's appends then go to the database file as they are
        made, and memory stays flat (docs/performance.md), in the caller's one transaction."""
        from_part = [c.name for c in columns if c.name not in stamps]
        own = [c for c in columns if c.name in stamps]
        select = ", ".join([*from_part, *(f"?::{c.sql}" for c in own)])
        sql = (
            f"insert into {self.raw}.nps ({', '.join([*from_part, *(c.name for c in own)])}) "
            f"select {select} from read_parquet(?)"
        )
        params = [stamps[c.name] for c in own]
        inserted = 0
        with tempfile.TemporaryDirectory(prefix="nps-load-") as folder:
            for path in extract.part_files(Path(folder)):
                inserted += _count(self.con, sql, *params, str(path))
        return inserted

    def audit(self, row: tuple[object, ...]) -> None:
        self.con.execute(insert_values(f"{self.raw}.nps_loads", NPS_LOADS, "?"), list(row))


def peek_load_log(path: str, raw_schema: str, run_date: dt.date) -> LoadLog | None:
    """The load log read without the write lock (empty when the file or its tables do not exist
    yet); None when another process holds the file."""
    if path == ":memory:" or not Path(path).exists():
        return LoadLog({}, None)
    try:
        con = duckdb.connect(path, read_only=True)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            return None
        raise WarehouseError(f"cannot open DuckDB file {path}: {first_line(exc)}") from None
    except duckdb.ConnectionException:
        # this process already has the file open read-write (e.g. an in-process dbt run):
        # DuckDB hands out connections to that instance only in its configuration
        con = duckdb.connect(path)
    try:
        present = {
            row[0]
            for row in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = 'nps_loads'",
                [raw_schema],
            ).fetchall()
        }
        if not present:
            return LoadLog({}, None)
        # read as an older loader left it: the peek never writes (loader/upgrade.py)
        windows_sql, zone_sql = load_log_queries(raw_schema, run_date, present)
        zones = con.execute(zone_sql).fetchall() if zone_sql else []
        return LoadLog.from_rows(
            con.execute(windows_sql).fetchall(), str(zones[0][0]) if zones else None
        )
    finally:
        con.close()


def check_path(path: str) -> None:
    """The errors opening a DuckDB file can have before any lock is involved, in plain words."""
    if path == ":memory:" or path.startswith("md:"):
        return
    file = Path(path)
    if not file.parent.is_dir():
        raise WarehouseError(
            f"cannot open DuckDB file {path}: folder {file.parent} does not exist "
            "(create it, or fix the profile's path / NPS_DUCKDB_PATH)"
        )
    if file.is_dir():
        raise WarehouseError(f"cannot open DuckDB file {path}: it is a folder")
    if not os.access(file if file.exists() else file.parent, os.W_OK):
        raise WarehouseError(f"cannot open DuckDB file {path}: permission denied")


def _connect_waiting(path: str, timeout: float) -> duckdb.DuckDBPyConnection:
    """DuckDB lets one process write a file at a time: queue behind another loader or a dbt run."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        try:
            return duckdb.connect(path)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise WarehouseError(f"cannot open DuckDB file {path}: {first_line(exc)}") from None
            if time.monotonic() >= deadline:
                raise WarehouseError(
                    f"cannot open DuckDB file {path} within {timeout:.0f}s: another process "
                    "(a dbt run or another loader) holds it; retry when it has finished"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot open DuckDB file {path}: {first_line(exc)}") from None


def _count(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> int:
    row = con.execute(sql, list(params)).fetchone()
    return int(row[0]) if row else 0
