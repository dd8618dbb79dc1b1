"""PostgreSQL: raw loads by binary COPY from Arrow (ADBC bulk ingest) inside one transaction."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import pyarrow as pa

from loader.dbt_profile import Target
from loader.errors import WarehouseError, first_line
from loader.lake.reader import Extract
from loader.tables import NPS_LOADS, Column, arrow_schema
from loader.upgrade import add_columns, postgres_indexes
from loader.warehouse.base import (
    raw_ddl,
)
from loader.warehouse.libpq import (
    LibpqWarehouse,
    connect,
    stream_query,
    tls_settings,
)

#: Every load takes this transaction-scoped advisory lock, so concurrent loaders queue up.
LOAD_LOCK_KEY = 0x6E7073  # "nps"


def connect_adbc(target: Target) -> Any:
    """An ADBC (libpq) connection for bulk loads: binary COPY straight from Arrow."""
    import adbc_driver_manager
    import adbc_driver_postgresql.dbapi  # type: ignore[import-untyped]

    s = target.settings
    user, password = str(s.get("user") or ""), str(s.get("password") or "")
    dbname = s.get("dbname") or s.get("database")
    where = f"{user}@{s.get('host')}:{s.get('port', 5432)}/{dbname}"
    options = urlencode(
        {
            "sslmode": s.get("sslmode", "prefer"),
            "connect_timeout": int(s.get("connect_timeout", 10)),
            "application_name": "nps-loader",
            **tls_settings(target),
        }
    )
    secret = f":{quote(password, safe='')}" if password else ""
    uri = f"postgresql://{quote(user, safe='')}{secret}@{s.get('host')}:{int(s.get('port', 5432))}/{quote(str(dbname), safe='')}?{options}"
    try:
        return adbc_driver_postgresql.dbapi.connect(uri, autocommit=False)
    except adbc_driver_manager.Error as exc:
        raise WarehouseError(
            f"cannot connect to the warehouse {where}: {_adbc_first_line(exc)}"
        ) from None


def _adbc_first_line(exc: Exception) -> str:
    """ADBC's message without its status prefix, query echo and context lines."""
    line = first_line(exc)
    return line.split(": ", 1)[1] if line.split(":", 1)[0].isupper() and ": " in line else line


def _ingest_tables(
    extract: Extract,
    stamps: dict[str, object],
    columns: tuple[Column, ...],
    rows: int = 500_000,
) -> Iterator[pa.Table]:
    """The extract's verified rows as ``columns`` of raw.nps, in tables of about ``rows`` rows
    (each built in Python, so a bad part raises here rather than inside the driver): the
    columns the extract lacks are the load's own, one value each from ``stamps``."""
    pending: list[pa.RecordBatch] = []
    count = 0

    def table() -> pa.Table:
        t = pa.Table.from_batches(pending)
        for column in columns:
            if column.name not in t.column_names:
                value: Any = pa.scalar(stamps[column.name], column.arrow)
                t = t.append_column(column.name, pa.repeat(value, t.num_rows))
        return t.select([c.name for c in columns])

    for batch in extract.batches():
        pending.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield table()
            pending, count = [], 0
    if pending:
        yield table()


class _Session:
    """A PostgreSQL load's statements (flow.LoadSession): binary COPY from Arrow through ADBC
    bulk ingest (~1.75x a CSV COPY); a bad part raises before its rows are sent."""

    def __init__(self, cur: Any, raw_schema: str) -> None:
        self.cur = cur
        self.raw = raw_schema

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        self.cur.execute(sql)
        return list(self.cur.fetchall())

    def delete_day(self, run_date: dt.date) -> int:
        day = run_date.isoformat()  # a date object's own text, not input
        self.cur.execute(
            f"with deleted as (delete from {self.raw}.nps where _run_date = date '{day}' "
            "and _correction is null returning 1) select count(*) from deleted"
        )
        return int(self.cur.fetchone()[0])

    def ingest(
        self, extract: Extract, stamps: dict[str, object], columns: tuple[Column, ...]
    ) -> int:
        return sum(
            int(self.cur.adbc_ingest("nps", table, mode="append", db_schema_name=self.raw))
            for table in _ingest_tables(extract, stamps, columns)
        )

    def audit(self, row: tuple[object, ...]) -> None:
        schema = arrow_schema(NPS_LOADS)
        table = pa.table(
            [pa.array([v], f.type) for v, f in zip(row, schema, strict=True)], schema=schema
        )
        self.cur.adbc_ingest("nps_loads", table, mode="append", db_schema_name=self.raw)


def ensure_raw(conn: Any, statements: list[str]) -> None:
    with conn, conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(%s)", (LOAD_LOCK_KEY,))
        for statement in statements:
            cur.execute(statement)


class PostgresWarehouse(LibpqWarehouse):
    def __init__(self, target: Target, raw_schema: str) -> None:
        self.raw_schema = raw_schema
        self.target = target
        self.conn = connect(target)
        self._adbc: Any = None
        ensure_raw(
            self.conn, raw_ddl(raw_schema) + add_columns(raw_schema) + postgres_indexes(raw_schema)
        )

    def check_before_lock(self, extract: Extract) -> None:
        """Nothing: each part is checked as the ingest reads it."""

    @contextlib.contextmanager
    def locked(self, what: str, extract_name: str) -> Iterator[_Session]:
        """One transaction on an ADBC connection, under the advisory load lock."""
        import adbc_driver_manager

        conn = self._bulk_connection()
        try:
            with conn.cursor() as cur:
                cur.execute(f"select pg_advisory_xact_lock({LOAD_LOCK_KEY})")
                cur.fetchall()
                yield _Session(cur, self.raw_schema)
            conn.commit()
        except adbc_driver_manager.Error as exc:
            conn.rollback()
            raise WarehouseError(
                f"{what} into PostgreSQL failed: {_adbc_first_line(exc)}"
            ) from None
        except BaseException:
            conn.rollback()
            raise

    def stream(self, sql: str, params: Sequence[object]) -> Iterator[tuple[Any, ...]]:
        return stream_query(self.conn, sql, params)

    def _bulk_connection(self) -> Any:
        if self._adbc is None:
            self._adbc = connect_adbc(self.target)
        return self._adbc

    def close(self) -> None:
        super().close()
        if self._adbc is not None:
            self._adbc.close()
