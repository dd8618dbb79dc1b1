"""Read one window of the production ``nps`` table as Arrow record batches.

Two sources: MySQL/MariaDB (production) and SQLite (the demo's stand-in). MySQL is read by
connectorx straight into Arrow when it is installed (the fast path), else by pymysql with its
converters off so that Arrow parses the values (the baseline); both write identical extracts.
Each read is one short, read-only, consistent-snapshot transaction, streamed in batches so
that memory stays flat however large the day is.

Time zones: MySQL TIMESTAMP columns are read in UTC (session ``time_zone = '+00:00'``); naive
DATETIME values (and the SQLite demo's text) mean wall-clock time in the source zone
(``SourceSpec.source_timezone``) and are converted to UTC here, so every extract holds UTC instants.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from loader.dates import Window, utc_now
from loader.source import connectorx_reader, mysql, pymysql_reader, sqlite_reader
from loader.source.spec import (
    BATCH_ROWS,
    FAST_BATCH_ROWS,
    SQLITE_TIMESTAMP_FORMAT,
    RowFilter,
    SourceSpec,
)
from loader.source.types import source_bounds, to_utc
from loader.tables import EXTRACT_SCHEMA

__all__ = [
    "BATCH_ROWS",
    "EXTRACT_SCHEMA",
    "FAST_BATCH_ROWS",
    "SQLITE_TIMESTAMP_FORMAT",
    "RowFilter",
    "SourceSpec",
    "read_rows",
    "read_window",
]


def read_window(
    spec: SourceSpec, window: Window, batch_rows: int | None = None
) -> Iterator[pa.RecordBatch]:
    """Yield the rows changed in ``window`` as record batches of :data:`EXTRACT_SCHEMA` (UTC),
    and warn about rows that no window can read (cursor NULL or in the future).

    The snapshot transaction is closed when the generator is exhausted or closed.
    """
    now = utc_now()
    return read_rows(
        spec, RowFilter("modified", window.start, window.end, outliers_after=now), batch_rows
    )


def read_rows(
    spec: SourceSpec, row_filter: RowFilter, batch_rows: int | None = None
) -> Iterator[pa.RecordBatch]:
    """The rows ``row_filter`` selects, from the one reader that fits the source: SQLite; for
    MySQL, connectorx when installed, allowed and able to read every column type of a table
    keyed by id, else pymysql. ``batch_rows``: rows per batch (default: the reader's own)."""
    if spec.kind == "sqlite":
        yield from sqlite_reader.read(spec, row_filter, batch_rows or BATCH_ROWS)
        return
    table = mysql.probe(spec, row_filter)
    # Without a unique id the duplicate check must share the extract's snapshot: pymysql.
    if table.id_is_unique and connectorx_reader.fast_path_allowed(spec, table.types):
        bounds = source_bounds(spec, table.columns, row_filter)
        for batch in connectorx_reader.read(
            spec, row_filter, bounds, batch_rows or FAST_BATCH_ROWS
        ):
            yield to_utc(batch, spec, table.columns)
        return
    yield from pymysql_reader.read(spec, row_filter, batch_rows or BATCH_ROWS, table)
