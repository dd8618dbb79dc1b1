"""The connectorx reader (the fast path): the binary protocol straight into Arrow, in Rust."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from urllib.parse import quote

import pyarrow as pa

from loader.errors import ConfigError, SourceError, first_line, redact
from loader.source import pymysql_reader
from loader.source.mysql import SESSION_SQL, lost_connection, probe
from loader.source.spec import BATCH_ROWS, RowFilter, SourceSpec
from loader.source.sql import select_sql
from loader.source.types import FAST_PATH_TYPES, conform
from loader.source.url import mysql_params


def fast_path_allowed(spec: SourceSpec, types: dict[str, str]) -> bool:
    """connectorx when it is installed and allowed, and every column has a type it reads as we do."""
    if spec.driver == "pymysql":
        return False
    if spec.tls is not None:  # connectorx takes no TLS settings for MySQL: pymysql reads it
        if spec.driver == "connectorx":
            raise ConfigError(
                "--driver connectorx cannot connect with ssl-mode/ssl-ca; use --driver auto or "
                "pymysql, which reads TLS connections"
            )
        return False
    columns = [c.lower() for c, _ in spec.select_columns if c is not None]
    eligible = all(types[c] in FAST_PATH_TYPES for c in columns)
    try:
        import connectorx  # noqa: F401
    except ImportError:
        if spec.driver == "connectorx":
            raise ConfigError(
                "--driver connectorx: connectorx is not installed (pip install connectorx)"
            ) from None
        return False
    if spec.driver == "connectorx" and not eligible:
        raise ConfigError(
            "--driver connectorx cannot read these column types; use --driver pymysql"
        )
    return eligible


def read(
    spec: SourceSpec,
    row_filter: RowFilter,
    bounds: tuple[dt.datetime, dt.datetime],
    batch_rows: int,
) -> Iterator[pa.RecordBatch]:
    """The fast path: connectorx reads the binary protocol straight into Arrow (Rust, no Python rows).

    One connection, one statement, in the same read-only consistent-snapshot transaction as the
    pymysql path. connectorx takes no bind parameters: the window bounds are our own datetimes,
    formatted here, never input.
    """
    import connectorx as cx

    p = mysql_params(spec.url, spec.password)
    url = f"mysql://{quote(p.user, safe='')}:{quote(p.password or '', safe='')}@{p.host}:{p.port}/{p.database}"
    start, end = (f"'{t.strftime('%Y-%m-%d %H:%M:%S.%f')}'" for t in bounds)
    sql = select_sql(spec, row_filter, "`", "{}").format(start, end)
    try:
        with _rust_panics_kept_off_stderr():
            reader = cx.read_sql(
                url,
                sql,
                return_type="arrow_stream",
                batch_size=batch_rows,
                pre_execution_query=[
                    *SESSION_SQL,
                    "start transaction with consistent snapshot, read only",
                ],
            )
            for batch in reader:
                yield conform(spec, batch)
    except SourceError:
        raise
    except BaseException as exc:  # Rust errors arrive as RuntimeError/OSError, or a panic
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise  # KeyboardInterrupt, SystemExit, GeneratorExit: not a read failure
        detail = redact(first_line(exc))
        if "convert the value" in detail:  # which value of which row: the pymysql reader says
            _locate_unreadable(spec, row_filter)
        if re.search(r"io ?error|disconnect|connection|broken pipe", detail, re.IGNORECASE):
            raise SourceError(lost_connection(spec, detail)) from None
        raise SourceError(
            f"reading MySQL table {spec.table!r} with connectorx failed: {detail}"
        ) from None


def _locate_unreadable(spec: SourceSpec, row_filter: RowFilter) -> None:
    """Re-read the window with pymysql, which raises an error naming the column, the value and
    the row that connectorx could not convert (only after a failed read)."""
    table = probe(spec, row_filter)
    for _ in pymysql_reader.read(spec, row_filter, BATCH_ROWS, table):
        pass


@contextlib.contextmanager
def _rust_panics_kept_off_stderr() -> Iterator[None]:
    """A Rust panic prints its backtrace on file descriptor 2 before Python sees the exception.
    While connectorx reads, fd 2 goes to a temporary file: after a failure it is dropped (the
    error is reported in one line), after a success anything written there is passed on."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if not failed:
                captured.seek(0)
                if text := captured.read():
                    sys.stderr.buffer.write(text)
                    sys.stderr.flush()
