"""The connectorx fast path writes exactly the Parquet the pymysql baseline writes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pyarrow.parquet as pq
import pytest

from loader.dates import Window
from loader.lake import LocalLake
from loader.lake.reader import read_manifest
from loader.settings import source_spec
from loader.source import EXTRACT_SCHEMA, SourceSpec, read_window
from tests.support.commands import read_extract
from tests.support.servers import MariaDB

D = dt.date(2021, 9, 16)
ROWS = [
    (1, "2021-09-16 00:00:00.000000", "2021-09-16 00:00:00.000000", 0, 0),
    (2, "2021-09-15 23:59:59.999999", "2021-09-16 12:34:56.123456", 1, 10),
    (3, None, "2021-09-16 23:59:59.999999", 0, None),
    (4, "2021-09-16 08:00:00.000001", "2021-09-15 23:00:00.000000", 0, -1),
    (
        9_223_372_036_854_775_807,
        "2021-09-16 09:00:00.500000",
        "2021-09-16 09:00:00.500000",
        1,
        32767,
    ),
    (6, "2021-09-17 00:00:00.000000", "2021-09-17 00:00:00.000000", 0, 5),  # outside the window
]


@pytest.fixture
def source(mariadb: MariaDB) -> SourceSpec:
    conn = mariadb.admin()
    with conn.cursor() as cur:
        cur.execute("drop table if exists nps_types")
        cur.execute(
            "create table nps_types (id bigint primary key, created_at datetime(6) null, "
            "modified datetime(6) not null, deleted boolean not null, score smallint null)"
        )
        cur.executemany("insert into nps_types values (%s, %s, %s, %s, %s)", ROWS)
    conn.close()
    return source_spec(mariadb.url(), source_table="nps_types", password=mariadb.password)


def test_connectorx_and_pymysql_produce_identical_extracts(
    source: SourceSpec, tmp_path: object
) -> None:
    window = Window.for_day(D, dt.timedelta(hours=1))
    tables = {}
    for driver in ("pymysql", "connectorx"):
        spec = dataclasses.replace(source, driver=driver)
        batches = list(read_window(spec, window, batch_rows=2))
        import pyarrow as pa

        table = pa.Table.from_batches(batches, schema=EXTRACT_SCHEMA).sort_by("id")
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        tables[driver] = pq.read_table(io.BytesIO(buffer.getvalue()))
    baseline, fast = tables["pymysql"], tables["connectorx"]
    assert baseline.schema.equals(EXTRACT_SCHEMA) and fast.schema.equals(EXTRACT_SCHEMA)
    assert baseline.equals(fast)
    assert baseline.column("id").to_pylist() == [1, 2, 3, 4, 9_223_372_036_854_775_807]
    assert baseline.column("modified").to_pylist()[1] == dt.datetime(
        2021, 9, 16, 12, 34, 56, 123456
    )
    assert (
        baseline.column("created_at").to_pylist()[2] is None
        and baseline.column("score").to_pylist()[2] is None
    )
    assert baseline.column("deleted").to_pylist() == [False, True, False, False, True]


def test_auto_driver_extract_round_trips_through_the_lake(
    source: SourceSpec, tmp_path: object
) -> None:
    from pathlib import Path

    from loader.lake.writer import extract_day

    lake = LocalLake(Path(str(tmp_path)))
    extract_day(source, lake, Window.for_day(D, dt.timedelta(hours=1)))
    table = read_extract(lake, read_manifest(lake, D))
    assert table.schema.equals(EXTRACT_SCHEMA)
    columns = [table.column(c.name).to_pylist() for c in EXTRACT_SCHEMA]
    read = sorted(zip(*columns, strict=True), key=lambda row: row[0])

    def ts(text: str | None) -> dt.datetime | None:
        return None if text is None else dt.datetime.fromisoformat(text)

    # every value of the window's five rows, as the source holds them (UTC), NULLs kept
    expected = [(i, ts(c), ts(m), bool(d), score) for i, c, m, d, score in ROWS[:5]]
    assert read == sorted(expected, key=lambda row: row[0])


def test_both_drivers_convert_a_dst_zone_identically(source: SourceSpec) -> None:
    """DATETIME values in America/New_York: the same UTC instants from either driver, the
    window taken in New York days, a null created_at kept null."""
    zone = "America/New_York"
    window = Window.for_day(D, dt.timedelta(hours=1), zone)
    assert (window.start, window.end) == (dt.datetime(2021, 9, 16, 3), dt.datetime(2021, 9, 17, 4))
    tables = {}
    for driver in ("pymysql", "connectorx"):
        spec = dataclasses.replace(source, driver=driver, source_timezone=zone)
        import pyarrow as pa

        batches = list(read_window(spec, window, batch_rows=2))
        tables[driver] = pa.Table.from_batches(batches, schema=EXTRACT_SCHEMA).sort_by("id")
    assert tables["pymysql"].equals(tables["connectorx"])
    # wall clock 2021-09-16 12:34:56.123456 EDT is 16:34:56.123456 UTC; the row stamped
    # 2021-09-17 00:00 New York time starts the next New York day and stays out
    assert tables["pymysql"].column("id").to_pylist() == [1, 2, 3, 4, 9_223_372_036_854_775_807]
    assert tables["pymysql"].column("modified").to_pylist()[1] == dt.datetime(
        2021, 9, 16, 16, 34, 56, 123456
    )
    assert tables["pymysql"].column("created_at").to_pylist()[2] is None
