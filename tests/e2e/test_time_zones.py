"""Days in the business's time zone: a Korean team's source and marts, DST days, zone changes.

Timestamps in raw and the marts are UTC instants; a day is a day of the reporting zone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import zoneinfo
from decimal import Decimal
from pathlib import Path

import pytest

from loader.errors import ConfigError
from loader.lake import LocalLake
from loader.lake.reader import read_manifest
from loader.verify import verify_days
from tests.support.harness import Stack, environ
from tests.support.oracle import expected_marts
from tests.support.servers import MariaDB
from tests.support.sources import MySQLSource, SqliteSource
from tests.support.stacks import make_factory

SEOUL = "Asia/Seoul"
NEW_YORK = "America/New_York"

# (id, KST wall clock, score): the KST day 2021-06-05 has 3 promoters and 1 detractor
KST_ROWS = [
    (1, "2021-06-04 10:00:00", 0),
    (2, "2021-06-04 20:00:00", 3),
    (3, "2021-06-05 00:30:00", 10),
    (4, "2021-06-05 08:59:00", 9),
    (5, "2021-06-05 12:00:00", 9),
    (6, "2021-06-05 18:00:00", 2),
    (7, "2021-06-06 01:00:00", 8),
]
KST_DAYS = [dt.date(2021, 6, 4), dt.date(2021, 6, 5), dt.date(2021, 6, 6)]


def _kst_source(mariadb: MariaDB, column_type: str) -> MySQLSource:
    """A production table written by an application whose MySQL session is at +09:00."""
    table = f"nps_kst_{column_type}"
    conn = mariadb.admin()
    with conn.cursor() as cur:
        cur.execute(f"drop table if exists {table}")
        cur.execute(
            f"create table {table} (id bigint primary key, created_at {column_type}(6) null, "
            f"modified {column_type}(6) null, deleted boolean not null default 0, "
            "score smallint null)"
        )
        cur.execute("set time_zone = '+09:00'")
        cur.executemany(
            f"insert into {table} values (%s, %s, %s, 0, %s)",
            [(i, wall, wall, score) for i, wall, score in KST_ROWS],
        )
    conn.close()
    return MySQLSource(mariadb, table)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("column_type", "combo"),
    [
        ("timestamp", "duckdb-mysql-s3"),
        ("datetime", "duckdb-mysql-s3"),
        ("datetime", "postgres-mysql-s3"),
    ],
)
def test_a_korean_day_gets_the_rows_a_korean_analyst_expects(
    request: pytest.FixtureRequest, tmp_path: Path, mariadb: MariaDB, column_type: str, combo: str
) -> None:
    stack, _ = make_factory(combo, request)(tmp_path)
    stack.reporting_timezone = stack.source_timezone = SEOUL
    source = _kst_source(mariadb, column_type)
    for day in KST_DAYS:
        stack.run_day(source, day)
        stack.dbt("run", "--vars", f"{{run_date: {day}}}")

    daily = stack.read_marts().daily
    assert daily[dt.date(2021, 6, 5)] == (4, 3, 0, 1, Decimal("50.00"))
    assert daily[dt.date(2021, 6, 4)] == (2, 0, 0, 2, Decimal("-100.00"))
    assert daily[dt.date(2021, 6, 6)] == (1, 0, 1, 0, Decimal("0.00"))
    # raw holds UTC instants: KST 2021-06-05 00:30 is 2021-06-04 15:30 UTC
    assert stack.query(f"select created_at from {stack.raw_schema}.nps where id = 3") == [
        (dt.datetime(2021, 6, 4, 15, 30),)
    ]
    # the oracle, from the rows as the application wrote them (KST wall clock)
    rows = [
        (i, dt.datetime.fromisoformat(w), dt.datetime.fromisoformat(w), False, s)
        for i, w, s in KST_ROWS
    ]
    assert stack.read_marts() == expected_marts(rows, SEOUL, SEOUL)
    # verify compares KST days (in-process: the test's dbt keeps the DuckDB file open)
    settings = stack.settings(source)
    with environ(stack.full_env):
        assert verify_days(settings, KST_DAYS[0], KST_DAYS[-1]).mismatches == []
        # in another zone than the marts' it refuses, rather than report a false "all match"
        utc = dataclasses.replace(settings, reporting_timezone="UTC")
        with pytest.raises(ConfigError, match="the marts count days of Asia/Seoul"):
            verify_days(utc, KST_DAYS[0], KST_DAYS[-1])


def _dst_rows(first_utc: dt.datetime, hours: int) -> list[tuple[object, ...]]:
    """A response every 10 minutes, written as New York wall-clock time (naive)."""
    tz = zoneinfo.ZoneInfo(NEW_YORK)
    rows: list[tuple[object, ...]] = []
    for n in range(hours * 6):
        instant = (first_utc + dt.timedelta(minutes=10 * n)).replace(tzinfo=dt.UTC)
        wall = instant.astimezone(tz).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        rows.append((len(rows) + 1, wall, wall, 0, 9))
    return rows


@pytest.mark.slow
@pytest.mark.parametrize("combo", ["duckdb-sqlite-local", "postgres-sqlite-local"])
def test_dst_days_have_23_and_25_hours_of_rows(
    request: pytest.FixtureRequest, tmp_path: Path, combo: str
) -> None:
    stack, source = make_factory(combo, request)(tmp_path)
    assert isinstance(source, SqliteSource)
    stack.reporting_timezone = stack.source_timezone = NEW_YORK
    # 2021-03-13..15 (the 14th has 23 hours) and 2021-11-06..08 (the 7th has 25 hours)
    rows = _dst_rows(dt.datetime(2021, 3, 13, 5), 71) + _dst_rows(dt.datetime(2021, 11, 6, 4), 73)
    rows = [(n + 1, *r[1:]) for n, r in enumerate(rows)]
    conn = sqlite3.connect(source.path)
    conn.execute(
        "create table nps (id integer primary key, created_at text, modified text, "
        "deleted integer, score integer)"
    )
    conn.executemany("insert into nps values (?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    days = [dt.date(2021, 3, d) for d in (13, 14, 15)] + [dt.date(2021, 11, d) for d in (6, 7, 8)]
    for day in days:
        stack.run_day(source, day, lookback=dt.timedelta(0))
    stack.dbt("run")

    extracted = {}
    if combo.endswith("local"):
        lake = LocalLake(Path(stack.lake))
        extracted = {day: read_manifest(lake, day).rows for day in days}
    responses = {day: counts[0] for day, counts in stack.read_marts().daily.items()}
    expected = dict(zip(days, [144, 138, 144, 144, 150, 144], strict=True))
    assert responses == expected
    assert extracted == expected  # each day's extract holds exactly that local day's changes
    assert stack.read_marts() == expected_marts(source.rows(), NEW_YORK, NEW_YORK)


@pytest.mark.slow
def test_changing_the_zone_needs_a_full_refresh(duckdb_stack: Stack, tmp_path: Path) -> None:
    source = SqliteSource(tmp_path / "src.db")
    conn = sqlite3.connect(source.path)
    conn.execute(
        "create table nps (id integer primary key, created_at text, modified text, "
        "deleted integer, score integer)"
    )
    # UTC 2021-06-04 16:00 is KST 2021-06-05 01:00: the day moves with the zone
    conn.executemany(
        "insert into nps values (?, ?, ?, 0, ?)",
        [
            (1, "2021-06-04 10:00:00", "2021-06-04 10:00:00", 9),
            (2, "2021-06-04 16:00:00", "2021-06-04 16:00:00", 0),
        ],
    )
    conn.commit()
    conn.close()
    for day in (dt.date(2021, 6, 4), dt.date(2021, 6, 5)):
        duckdb_stack.run_day(source, day)
    duckdb_stack.dbt("run")
    assert set(duckdb_stack.read_marts().daily) == {dt.date(2021, 6, 4)}
    before = duckdb_stack.read_marts()

    duckdb_stack.reporting_timezone = SEOUL
    refused = duckdb_stack.dbt("run", expect_success=False)
    assert not refused.success
    message = str(refused.exception or refused.result)
    assert "built with reporting_timezone 'UTC' and this run asks for 'Asia/Seoul'" in message
    assert "--full-refresh" in message
    assert duckdb_stack.read_marts() == before, "nothing may be half-converted"

    duckdb_stack.dbt("run", "--full-refresh")
    marts = duckdb_stack.read_marts()
    assert set(marts.daily) == {dt.date(2021, 6, 4), dt.date(2021, 6, 5)}
    assert marts == expected_marts(source.rows(), "UTC", SEOUL)
    duckdb_stack.dbt("run")  # and from then on, incremental runs in the new zone are fine
