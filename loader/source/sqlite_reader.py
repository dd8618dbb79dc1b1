"""The SQLite reader (the demo's stand-in for production): one read transaction of the file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pyarrow as pa

from loader.errors import SourceError
from loader.source.spec import SQLITE_TIMESTAMP_FORMAT, RowFilter, SourceSpec
from loader.source.sql import (
    duplicates_sql,
    outlier_sql,
    refuse_duplicates,
    select_sql,
    warn_outliers,
)
from loader.source.types import check_columns, outlier_bound, source_bounds, to_batch, to_utc
from loader.source.url import sqlite_path


def read(spec: SourceSpec, row_filter: RowFilter, batch_rows: int) -> Iterator[pa.RecordBatch]:
    path = sqlite_path(spec.url)
    if not path.is_file():
        raise SourceError(
            f"SQLite source {path} does not exist (run nps-loader demo-source first?)"
        )
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    try:
        present = {
            row[1].lower(): row[2] for row in conn.execute(f'pragma table_info("{spec.table}")')
        }
        columns = check_columns(spec, present)
        bounds = [
            t.strftime(SQLITE_TIMESTAMP_FORMAT) for t in source_bounds(spec, columns, row_filter)
        ]
        conn.execute("begin")  # one read transaction: a consistent snapshot of the file
        if row_filter.outliers_after is not None:
            after = outlier_bound(spec, columns, row_filter.outliers_after)
            count_sql, ids_sql = outlier_sql(spec, '"', "?")
            warn_outliers(
                spec,
                conn.execute(count_sql, [after.strftime(SQLITE_TIMESTAMP_FORMAT)]).fetchone(),
                [r[0] for r in conn.execute(ids_sql, [after.strftime(SQLITE_TIMESTAMP_FORMAT)])],
            )
        if not sqlite_id_is_unique(conn, spec.table):
            dupes = conn.execute(duplicates_sql(spec, row_filter, '"', "?"), bounds).fetchall()
            refuse_duplicates(spec, [row[0] for row in dupes])
        cur = conn.execute(select_sql(spec, row_filter, '"', "?"), bounds)
        while rows := cur.fetchmany(batch_rows):
            yield to_utc(to_batch(spec, rows, all_text=False), spec, columns)
        conn.execute("commit")
    except sqlite3.Error as exc:
        raise SourceError(f"SQLite source {path}: {exc}") from exc
    finally:
        conn.close()


def sqlite_id_is_unique(conn: sqlite3.Connection, table: str) -> bool:
    """True when ``id`` alone is the primary key or a (non-partial) unique index."""
    pk = [row[1].lower() for row in conn.execute(f'pragma table_info("{table}")') if row[5]]
    if pk == ["id"]:
        return True
    for _, name, unique, _, partial in conn.execute(f'pragma index_list("{table}")'):
        if unique and not partial:
            cols = [row[2].lower() for row in conn.execute(f'pragma index_info("{name}")')]
            if cols == ["id"]:
                return True
    return False


# --- MySQL / MariaDB ------------------------------------------------------------------------
