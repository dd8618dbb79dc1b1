"""libpq connections (psycopg2) shared by the PostgreSQL and Redshift warehouses: how the
loader connects with the profile's settings, its read-only queries, and the methods the two
warehouses share (:class:`LibpqWarehouse`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from loader.dbt_profile import Target
from loader.errors import WarehouseError, first_line
from loader.load_windows import LoadLog
from loader.warehouse.base import Certificate, certificate_insert, read_log
from loader.warehouse.flow import FlowLoads


def connect(target: Target) -> Any:
    import psycopg2

    s = target.settings
    where = f"{s.get('user')}@{s.get('host')}:{s.get('port', 5432)}/{s.get('dbname') or s.get('database')}"
    try:
        settings: dict[str, Any] = {
            "host": s.get("host"),
            "port": int(s.get("port", 5432)),
            "user": s.get("user"),
            "password": s.get("password"),
            "dbname": s.get("dbname") or s.get("database"),
            "sslmode": s.get("sslmode", "prefer"),
            "connect_timeout": int(s.get("connect_timeout", 10)),
            "application_name": "nps-loader",
            **tls_settings(target),
        }
        return psycopg2.connect(**settings)
    except psycopg2.OperationalError as exc:
        raise WarehouseError(
            f"cannot connect to the warehouse {where}: {first_line(exc)}"
        ) from None


#: The profile's TLS settings besides sslmode that the loader passes on, as dbt-postgres and
#: dbt-redshift do.
TLS_KEYS = ("sslrootcert", "sslcert", "sslkey")


def tls_settings(target: Target) -> dict[str, str]:
    return {key: str(target.settings[key]) for key in TLS_KEYS if target.settings.get(key)}


def run_query(conn: Any, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
    import psycopg2

    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, tuple(params))
            return list(cur.fetchall())
    except psycopg2.Error as exc:
        raise WarehouseError(f"{first_line(exc)} (run dbt on this warehouse first)") from None


def query_with_ids(conn: Any, sql: str, ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """``sql`` with ``{ids}`` naming a temporary table of ``ids`` (one column, ``id``), in one
    transaction: a join in place of an ``id in (...)`` list per thousand ids."""
    import psycopg2

    try:
        with conn, conn.cursor() as cur:
            cur.execute("create temporary table nps_ids (id bigint)")
            for offset in range(0, len(ids), 5000):  # ints, never input text
                values = ", ".join(f"({int(i)})" for i in ids[offset : offset + 5000])
                cur.execute(f"insert into nps_ids (id) values {values}")
            cur.execute(sql.format(ids="nps_ids"))
            rows = list(cur.fetchall())
            cur.execute("drop table nps_ids")
            return rows
    except psycopg2.Error as exc:
        raise WarehouseError(f"{first_line(exc)} (run dbt on this warehouse first)") from None


def fetch_query(conn: Any, sql: str, params: Sequence[object]) -> Iterator[tuple[Any, ...]]:
    """A read-only query fetched by the client, without a server-side cursor (Redshift's
    cursors hold their whole result on the leader node, one per session:
    https://docs.aws.amazon.com/redshift/latest/dg/declare.html). Ask for a day at a time."""
    yield from run_query(conn, sql, params)


def stream_query(conn: Any, sql: str, params: Sequence[object]) -> Iterator[tuple[Any, ...]]:
    """A read-only query through a server-side (named) cursor, fetched 50,000 rows at a time,
    in a transaction of its own that ends with the last row."""
    import psycopg2

    try:
        with conn, conn.cursor(name="nps_stream") as cur:
            cur.itersize = 50_000
            cur.execute(sql, tuple(params))
            yield from cur
    except psycopg2.Error as exc:
        raise WarehouseError(f"{first_line(exc)} (run dbt on this warehouse first)") from None


def insert_rows(conn: Any, sql: str, rows: Sequence[Sequence[object]], what: str) -> None:
    """``sql`` (an insert with ``%s`` placeholders) once per row, in one transaction."""
    import psycopg2

    try:
        with conn, conn.cursor() as cur:
            for values in rows:
                cur.execute(sql, tuple(values))
    except psycopg2.Error as exc:
        raise WarehouseError(f"{what} failed: {first_line(exc)}") from None


class LibpqWarehouse(FlowLoads):
    """What the PostgreSQL and Redshift warehouses do alike on their psycopg2 connection."""

    conn: Any
    raw_schema: str

    def load_log(self, run_date: dt.date) -> LoadLog:
        return read_log(lambda sql: run_query(self.conn, sql, ()), self.raw_schema, run_date)

    def query(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        return run_query(self.conn, sql, params)

    def query_with_ids(self, sql: str, ids: Sequence[int]) -> list[tuple[Any, ...]]:
        return query_with_ids(self.conn, sql, ids)

    def certify(self, certificates: Sequence[Certificate]) -> None:
        rows = [c.row() for c in certificates]
        insert_rows(
            self.conn, certificate_insert(self.raw_schema, "%s"), rows, "recording the certificates"
        )

    def close(self) -> None:
        self.conn.close()
