"""PostgreSQL: raw loads with ``COPY ... FROM STDIN`` inside one transaction."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from loader.errors import WarehouseError
from loader.extract import Extract
from loader.profile import Target
from loader.warehouse import (
    LoadResult,
    loads_insert_params,
    raw_ddl,
    utc_now,
)

#: Every load takes this transaction-scoped advisory lock, so concurrent loaders queue up.
LOAD_LOCK_KEY = 0x6E7073  # "nps"


def connect(target: Target) -> Any:
    import psycopg2

    s = target.settings
    where = f"{s.get('user')}@{s.get('host')}:{s.get('port', 5432)}/{s.get('dbname') or s.get('database')}"
    try:
        return psycopg2.connect(
            host=s.get("host"),
            port=int(s.get("port", 5432)),
            user=s.get("user"),
            password=s.get("password"),
            dbname=s.get("dbname") or s.get("database"),
            sslmode=s.get("sslmode", "prefer"),
            connect_timeout=int(s.get("connect_timeout", 10)),
            application_name="nps-loader",
        )
    except psycopg2.OperationalError as exc:
        raise WarehouseError(
            f"cannot connect to the warehouse {where}: {error_line(exc)}"
        ) from None


def error_line(exc: Exception) -> str:
    """The first line of a psycopg2 error: the server's message, without its context lines."""
    text = (getattr(exc, "pgerror", None) or str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def ensure_raw(conn: Any, statements: list[str]) -> None:
    with conn, conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(%s)", (LOAD_LOCK_KEY,))
        for statement in statements:
            cur.execute(statement)


def run_query(conn: Any, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
    import psycopg2

    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, tuple(params))
            return list(cur.fetchall())
    except psycopg2.Error as exc:
        raise WarehouseError(f"{error_line(exc)} (run dbt on this warehouse first)") from None


class PostgresWarehouse:
    def __init__(self, target: Target, raw_schema: str) -> None:
        self.raw_schema = raw_schema
        self.conn = connect(target)
        ensure_raw(self.conn, raw_ddl(raw_schema))
        with self.conn, self.conn.cursor() as cur:
            cur.execute(
                f"create index if not exists nps_run_date_idx on {raw_schema}.nps (_run_date)"
            )
            cur.execute(
                f"create index if not exists nps_loaded_at_idx on {raw_schema}.nps (_loaded_at)"
            )

    def replace_day(self, extract: Extract) -> LoadResult:
        manifest = extract.manifest
        import psycopg2

        raw = self.raw_schema
        loaded_at = utc_now()
        columns = "id, created_at, modified, deleted, score, _run_date, _extract_id, _loaded_at"
        try:
            with self.conn, self.conn.cursor() as cur:  # commits on success, rolls back on error
                cur.execute("select pg_advisory_xact_lock(%s)", (LOAD_LOCK_KEY,))
                cur.execute(f"delete from {raw}.nps where _run_date = %s", (manifest.run_date,))
                replaced = cur.rowcount
                copied = 0
                for batch in extract.batches():  # one COPY per batch, all in this transaction
                    n = batch.num_rows
                    table = (
                        pa.Table.from_batches([batch])
                        .append_column(
                            "_run_date", pa.repeat(pa.scalar(manifest.run_date, pa.date32()), n)
                        )
                        .append_column(
                            "_extract_id", pa.repeat(pa.scalar(manifest.extract_id, pa.string()), n)
                        )
                        .append_column(
                            "_loaded_at", pa.repeat(pa.scalar(loaded_at, pa.timestamp("us")), n)
                        )
                    )
                    buffer = io.BytesIO()
                    pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False))
                    buffer.seek(0)
                    cur.copy_expert(
                        f"copy {raw}.nps ({columns}) from stdin with (format csv)", buffer
                    )
                    copied += cur.rowcount
                cur.execute(
                    f"insert into {raw}.nps_loads values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    loads_insert_params(manifest, replaced, loaded_at),
                )
                if copied != manifest.rows:
                    raise WarehouseError(
                        f"COPY loaded {copied} rows for {manifest.run_date}, the manifest has {manifest.rows}"
                    )
        except psycopg2.Error as exc:
            raise WarehouseError(
                f"loading {manifest.run_date} into PostgreSQL failed: {error_line(exc)}"
            ) from None
        return LoadResult(manifest.run_date, manifest.extract_id, copied, replaced, loaded_at)

    def query(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        return run_query(self.conn, sql, params)

    def close(self) -> None:
        self.conn.close()
