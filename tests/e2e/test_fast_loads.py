"""What the second performance round changed that a user can observe: the extract's Parquet
layout (DuckDB-sized row groups, no dictionary pages, encoded on a second thread without losing
an error), PostgreSQL's BRIN indexes on raw.nps (replacing the B-trees of earlier versions), and
planner statistics after a rebuild. The speed itself is measured by `make bench`, not here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loader.demo import generate_events, state_as_of
from loader.errors import SourceError
from loader.lake.writer import PART_ROWS, ROW_GROUP_ROWS, write_parts
from loader.source import EXTRACT_SCHEMA
from loader.warehouse import raw_ddl
from tests.support.harness import Stack
from tests.support.oracle import expected_marts
from tests.support.stacks import make_factory

START = dt.date(2021, 6, 1)


def _batches(rows: int, batch_rows: int, fail_after: int | None = None) -> Iterator[pa.RecordBatch]:
    """Synthetic extract batches of ``batch_rows`` rows; raise once ``fail_after`` were sent."""
    start = dt.datetime(2021, 6, 1)
    for offset in range(0, rows, batch_rows):
        if fail_after is not None and offset >= fail_after:
            raise SourceError("the source went away")
        n = min(batch_rows, rows - offset)
        ids = pa.array(range(offset, offset + n), pa.int64())
        stamps = pa.array(
            [start + dt.timedelta(microseconds=i) for i in range(n)], pa.timestamp("us")
        )
        yield pa.RecordBatch.from_arrays(
            [
                ids,
                stamps,
                stamps,
                pa.array([False] * n),
                pa.array([i % 11 for i in range(n)], pa.int16()),
            ],
            schema=EXTRACT_SCHEMA,
        )


def test_parts_have_duckdb_sized_row_groups_whatever_the_source_batches(tmp_path: Path) -> None:
    rows = PART_ROWS + 2 * ROW_GROUP_ROWS + 7
    parts = write_parts(_batches(rows, 50_000), tmp_path)

    assert [count for _, count in parts] == [PART_ROWS, 2 * ROW_GROUP_ROWS + 7]
    groups = []
    for path, count in parts:
        meta = pq.ParquetFile(path).metadata
        assert meta.num_rows == count
        groups += [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        # ids and timestamps are nearly all distinct: no dictionary pages to build and discard
        encodings = {
            e for i in range(meta.num_columns) for e in meta.row_group(0).column(i).encodings
        }
        assert not encodings & {"PLAIN_DICTIONARY", "RLE_DICTIONARY"}, encodings
    assert groups == [ROW_GROUP_ROWS] * (PART_ROWS // ROW_GROUP_ROWS + 2) + [7]
    read = pa.concat_tables(pq.read_table(path) for path, _ in parts)
    assert read.column("id").to_pylist() == list(range(rows))  # every row, in order


def test_an_empty_day_still_writes_one_empty_part(tmp_path: Path) -> None:
    parts = write_parts(iter(()), tmp_path)
    assert [count for _, count in parts] == [0]
    assert pq.read_table(parts[0][0]).schema.equals(EXTRACT_SCHEMA)


def test_a_source_error_during_the_threaded_write_is_raised_not_lost(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="the source went away"):
        write_parts(_batches(3 * ROW_GROUP_ROWS, 50_000, fail_after=200_000), tmp_path)


def test_a_write_error_on_the_encoding_thread_reaches_the_caller(tmp_path: Path) -> None:
    missing = tmp_path / "gone"  # the part cannot be created: the writer thread fails
    with pytest.raises(OSError):
        write_parts(_batches(2 * ROW_GROUP_ROWS, 50_000), missing)


def _pg_stack(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    return make_factory("postgres-sqlite-local", request)(tmp_path)


def _indexes(stack: Stack, table: str, schema: str) -> dict[str, str]:
    return dict(
        stack.query(
            f"select indexname, indexdef from pg_indexes "
            f"where schemaname = '{schema}' and tablename = '{table}'"
        )
    )


def test_postgres_raw_is_indexed_by_brin_and_old_btrees_are_replaced(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    stack, source = _pg_stack(request, tmp_path)
    raw = stack.raw_schema
    # a raw schema as an earlier version left it: B-tree indexes on the load columns
    for statement in raw_ddl(raw):
        stack.query(statement)
    stack.query(f"create index nps_run_date_idx on {raw}.nps (_run_date)")
    stack.query(f"create index nps_loaded_at_idx on {raw}.nps (_loaded_at)")

    source.write(state_as_of(generate_events(3, START, 2, 20), None).values())
    for day in (START, START + dt.timedelta(days=1)):
        stack.run_day(source, day)

    indexes = _indexes(stack, "nps", raw)
    assert sorted(indexes) == ["nps_loaded_at_brin", "nps_run_date_brin"]
    assert "USING brin (_run_date date_minmax_multi_ops)" in indexes["nps_run_date_brin"]
    assert "USING brin (_loaded_at timestamp_minmax_multi_ops)" in indexes["nps_loaded_at_brin"]
    # and the marts are right when built from it
    stack.dbt("run", "--vars", f"{{end_date: {START + dt.timedelta(days=1)}, start_date: {START}}}")
    stack.dbt("run")
    assert stack.read_marts() == expected_marts(source.rows())


def _last_analyze(stack: Stack, table: str) -> dt.datetime | None:
    rows = stack.query(
        f"select last_analyze from pg_stat_user_tables "
        f"where schemaname = '{stack.schema}' and relname = '{table}'"
    )
    return rows[0][0] if rows else None


def test_postgres_rebuilds_leave_planner_statistics_behind(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Without statistics PostgreSQL plans the next incremental run over the freshly rebuilt
    millions of rows as whole-table scans (the daily counts of an ordinary day at 11M raw rows:
    2.7 s instead of 0.2 s, bench section 3)."""
    stack, source = _pg_stack(request, tmp_path)
    source.write(state_as_of(generate_events(4, START, 2, 20), None).values())
    for offset in range(3):
        stack.run_day(source, START + dt.timedelta(days=offset))
    tables = ("int_nps_responses_current", "int_nps_daily_counts")

    stack.dbt("run")  # the first build
    first = {t: _last_analyze(stack, t) for t in tables}
    assert all(first.values()), first

    stack.run_day(source, START + dt.timedelta(days=3))
    stack.dbt("run", "--vars", f"{{run_date: {START + dt.timedelta(days=3)}}}")
    assert {t: _last_analyze(stack, t) for t in tables} == first  # ordinary days: nothing extra

    stack.dbt("run", "--full-refresh")
    again = {t: _last_analyze(stack, t) for t in tables}
    assert all(again[t] > first[t] for t in tables), (first, again)  # type: ignore[operator]
    assert stack.read_marts() == expected_marts(source.rows())
