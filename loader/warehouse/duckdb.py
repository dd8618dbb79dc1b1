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

from loader.coverage import LoadLog, log_queries
from loader.errors import LakeError, WarehouseError, first_line
from loader.lake import Lake
from loader.lake.manifest import Manifest
from loader.lake.reader import Extract
from loader.profile import Target
from loader.tables import (
    LOADED_COLUMNS,
    NPS_LOADS,
    RAW_NPS,
    SOURCE_COLUMNS,
    column_list,
    insert_values,
)
from loader.warehouse import (
    LoadResult,
    checked_extract,
    loads_row,
    raw_ddl,
    raw_migrations,
    read_log,
    utc_now,
)


class DuckDBWarehouse:
    def __init__(self, target: Target, raw_schema: str) -> None:
        self.raw_schema = raw_schema
        self.path = str(target.settings.get("path", ":memory:"))
        check_path(self.path)
        self.con = _connect_waiting(
            self.path, float(os.environ.get("NPS_DUCKDB_LOCK_TIMEOUT", "60"))
        )
        for statement in raw_ddl(raw_schema) + raw_migrations(raw_schema):
            self.con.execute(statement)

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        return list(self.con.execute(sql).fetchall())

    def load_log(self, run_date: dt.date) -> LoadLog:
        return read_log(self._rows, self.raw_schema, run_date)

    @contextlib.contextmanager
    def _transaction(self, what: str, extract_name: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """One load's transaction: committed when the block ends, rolled back on any failure,
        each failure said in one line (``what``: "loading 2021-09-16", ``extract_name``: "the
        extract of 2021-09-16")."""
        con = self.con
        con.begin()
        try:
            yield con
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

    def _insert_parts(self, extract: Extract, insert_sql: str, params: list[object]) -> None:
        """``insert_sql`` (ending in ``read_parquet(?)``) once per verified part. DuckDB reads each
        part with its own Parquet reader: a large day's appends then go to the database file as
        they are made, and memory stays flat (an 8M-row day: 284 MB peak for the whole run,
        bench/results.md), in the caller's one transaction."""
        with tempfile.TemporaryDirectory(prefix="nps-load-") as folder:
            for path in extract.part_files(Path(folder)):
                self.con.execute(insert_sql, [*params, str(path)])

    def _log_load(self, manifest: Manifest, replaced: int, loaded_at: dt.datetime) -> None:
        self.con.execute(
            insert_values(f"{self.raw_schema}.nps_loads", NPS_LOADS, "?"),
            list(loads_row(manifest, replaced, loaded_at)),
        )

    def replace_day(self, lake: Lake, run_date: dt.date) -> LoadResult:
        raw = self.raw_schema
        with self._transaction(f"loading {run_date}", f"the extract of {run_date}") as con:
            # The file lock taken when this connection opened is the load lock: one process
            # writes a DuckDB file at a time.
            extract, _ = checked_extract(lake, run_date, self._rows, raw)
            manifest = extract.manifest
            loaded_at = utc_now()
            # DuckDB's delete returns the number of rows it deleted
            # (a reconcile's corrections are not the day's load: they stay)
            replaced = _count(
                con,
                f"delete from {raw}.nps where _run_date = ? and _correction is null",
                manifest.run_date,
            )
            self._insert_parts(
                extract,
                f"insert into {raw}.nps ({column_list(LOADED_COLUMNS)}) select "
                f"{column_list(SOURCE_COLUMNS)}, ?::date, ?, ?::timestamp from read_parquet(?)",
                [manifest.run_date, manifest.extract_id, loaded_at],
            )
            self._log_load(manifest, replaced, loaded_at)
            loaded = _count(
                con,
                f"select count(*) from {raw}.nps where _run_date = ? and _correction is null",
                manifest.run_date,
            )
            if loaded != manifest.rows:
                raise WarehouseError(
                    f"loaded {loaded} rows for {manifest.run_date} but the manifest has {manifest.rows}"
                )
        return LoadResult(manifest.run_date, manifest.extract_id, loaded, replaced, loaded_at)

    def load_corrections(self, extract: Extract) -> LoadResult:
        raw, manifest = self.raw_schema, extract.manifest
        with self._transaction("loading the corrections", "the reconcile extract") as con:
            loaded_at = utc_now()
            self._insert_parts(
                extract,
                f"insert into {raw}.nps ({column_list(RAW_NPS)}) select "
                f"{column_list(SOURCE_COLUMNS)}, _run_date, ?, ?::timestamp, "
                "_supersedes, _correction from read_parquet(?)",
                [manifest.extract_id, loaded_at],
            )
            self._log_load(manifest, 0, loaded_at)
            loaded = _count(
                con, f"select count(*) from {raw}.nps where _extract_id = ?", manifest.extract_id
            )
            if loaded != manifest.rows:
                raise WarehouseError(
                    f"loaded {loaded} corrections but the manifest has {manifest.rows}"
                )
        return LoadResult(manifest.run_date, manifest.extract_id, loaded, 0, loaded_at)

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

    def close(self) -> None:
        self.con.close()


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
        if "reporting_timezone" not in present:  # made by an older loader: no zone recorded
            windows_sql, _ = log_queries(raw_schema, run_date, has_kind=False)
            return LoadLog.from_rows(con.execute(windows_sql).fetchall(), None)
        if "kind" not in present:  # made by an older loader: no reconciles either
            windows_sql, zone_sql = log_queries(raw_schema, run_date, has_kind=False)
            zones = con.execute(zone_sql).fetchall()
            return LoadLog.from_rows(
                con.execute(windows_sql).fetchall(), str(zones[0][0]) if zones else None
            )
        return read_log(lambda sql: list(con.execute(sql).fetchall()), raw_schema, run_date)
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
