"""The pymysql reader: the baseline, and the one reader that can check a table without a unique
id for duplicates in its own snapshot (its connection and probe: loader/source/mysql.py).

pymysql's converters are off: values arrive as text and Arrow parses them in C++, twice as fast
as pymysql building Python objects row by row.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from loader.errors import SourceError
from loader.source.mysql import LOST_CONNECTION, MySQLTable, connect_as_text, lost_connection
from loader.source.spec import RowFilter, SourceSpec
from loader.source.sql import duplicates_sql, refuse_duplicates, select_sql
from loader.source.types import source_bounds, to_batch, to_utc


def read(
    spec: SourceSpec, row_filter: RowFilter, batch_rows: int, table: MySQLTable
) -> Iterator[pa.RecordBatch]:
    """The rows in one read-only consistent snapshot, streamed by a server-side cursor; without a
    unique id, the duplicate check runs in the same snapshot first."""
    import pymysql
    import pymysql.cursors

    bounds = source_bounds(spec, table.columns, row_filter)
    conn = connect_as_text(spec)
    try:
        with conn.cursor() as cur:
            cur.execute("start transaction with consistent snapshot, read only")
            if not table.id_is_unique:
                cur.execute(duplicates_sql(spec, row_filter, "`", "%s"), bounds)
                refuse_duplicates(spec, [row[0] for row in cur.fetchall()])
        # Not a `with` block: closing an unbuffered cursor reads the rest of its result, which
        # on a lost connection fails again with an AttributeError that hides the real error.
        stream = conn.cursor(pymysql.cursors.SSCursor)
        stream.execute(select_sql(spec, row_filter, "`", "%s"), bounds)
        while rows := stream.fetchmany(batch_rows):
            yield to_utc(to_batch(spec, rows, all_text=True), spec, table.columns)
        stream.close()
        conn.commit()
    except pymysql.MySQLError as exc:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if code in LOST_CONNECTION:
            _abandon_unbuffered_result(conn)
            raise SourceError(lost_connection(spec, str(exc.args[-1]))) from None
        raise SourceError(f"reading MySQL table {spec.table!r} failed: {exc.args[-1]}") from None
    finally:
        if conn.open:
            conn.close()


def _abandon_unbuffered_result(conn: Any) -> None:
    """After a lost connection, mark the half-read unbuffered result as finished: otherwise
    pymysql's cursor and result destructors try to read its rest from the closed socket and
    print "Exception ignored ... AttributeError" tracebacks (pymysql keeps this state private)."""
    result = getattr(conn, "_result", None)
    if result is not None:
        result.unbuffered_active = False
