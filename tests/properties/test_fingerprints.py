"""Day fingerprints mean the same on every engine: equal rows give equal fingerprints in the
sources (SQLite, MariaDB) and the warehouses (DuckDB, PostgreSQL, the emulated Redshift), equal
to the Python reference; a change to any compared column of any one row changes its day's
fingerprint on each engine. Microsecond timestamps, NULLs, the source zone (the warehouse holds
UTC instants and converts them back) and booleans are in the generated rows."""

from __future__ import annotations

import datetime as dt
import sqlite3
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loader.fingerprint import DayPrint, fold, source_prints, warehouse_prints
from loader.settings import source_spec
from loader.source.spec import SQLITE_TIMESTAMP_FORMAT
from tests.support.servers import MariaDB, Postgres
from tests.support.sources import mysql_table

FIRST, LAST = dt.date(2021, 9, 15), dt.date(2021, 9, 17)
START = dt.datetime(2021, 9, 14, 12)
Row = tuple[int, dt.datetime | None, dt.datetime | None, bool, int | None]

stamp = st.integers(0, 4 * 24 * 3600 * 10**6).map(lambda us: START + dt.timedelta(microseconds=us))
rows_strategy = st.lists(
    st.tuples(
        st.one_of(stamp, st.none()),
        st.one_of(stamp, st.none()),
        st.booleans(),
        st.one_of(st.integers(-1, 11), st.none()),
    ),
    min_size=1,
    max_size=25,
).map(lambda rs: [(i + 1, *r) for i, r in enumerate(rs)])


def to_utc(wall: dt.datetime | None, zone: str) -> dt.datetime | None:
    if wall is None:
        return None
    aware = wall.replace(tzinfo=zoneinfo.ZoneInfo(zone))
    return aware.astimezone(dt.UTC).replace(tzinfo=None)


def reference(rows: list[Row], source_zone: str, zone: str) -> dict[dt.date, DayPrint]:
    days: dict[dt.date, list[Row]] = defaultdict(list)
    for row in rows:
        instant = to_utc(row[1], source_zone)
        if instant is None:
            continue
        day = instant.replace(tzinfo=dt.UTC).astimezone(zoneinfo.ZoneInfo(zone)).date()
        if FIRST <= day <= LAST:
            days[day].append(row)
    return {day: fold(rs) for day, rs in days.items()}


class Engines:
    """One table per engine holding the same rows: the sources in the source zone's wall clock,
    the warehouses (shaped as int_nps_responses_current) in UTC."""

    def __init__(self, tmp: Path, mariadb: MariaDB, postgres: Postgres) -> None:
        import duckdb
        import psycopg2

        self.tmp, self.mariadb, self.postgres = tmp, mariadb, postgres
        self.duck = duckdb.connect()
        self.pg = psycopg2.connect(postgres.url())
        self.pg.autocommit = True
        self.state = "create table fp_state (id bigint, created_at timestamp, modified timestamp, is_deleted boolean, score smallint, _correction varchar(32))"

    def write(self, rows: list[Row], source_zone: str) -> None:
        (self.tmp / "fp.db").unlink(missing_ok=True)
        lite = sqlite3.connect(self.tmp / "fp.db")
        lite.execute(
            "create table nps (id integer primary key, created_at text, modified text, deleted integer, score integer)"
        )

        def text(value: dt.datetime | None) -> str | None:
            return None if value is None else value.strftime(SQLITE_TIMESTAMP_FORMAT)

        lite.executemany(
            "insert into nps values (?, ?, ?, ?, ?)",
            [(i, text(c), text(m), int(d), s) for i, c, m, d, s in rows],
        )
        lite.commit()
        lite.close()
        mysql_table(
            self.mariadb,
            "nps_fingerprints",
            "id bigint primary key, created_at datetime(6) null, modified datetime(6) null, "
            "deleted boolean, score smallint null, key (created_at)",
            [(i, c, m, d, s) for i, c, m, d, s in rows],
        )
        state = [
            (i, to_utc(c, source_zone), to_utc(m, source_zone), d, s, None)
            for i, c, m, d, s in rows
        ]
        self.duck.execute("drop table if exists fp_state")
        self.duck.execute(self.state)
        self.duck.executemany("insert into fp_state values (?, ?, ?, ?, ?, ?)", state)
        with self.pg.cursor() as cur:
            cur.execute("drop table if exists fp_state")
            cur.execute(self.state)
            cur.executemany("insert into fp_state values (%s, %s, %s, %s, %s, %s)", state)

    def prints(self, source_zone: str, zone: str) -> dict[str, dict[dt.date, DayPrint]]:
        from dev.redshift_emulator import open_connection

        sqlite_spec = source_spec(f"sqlite:///{self.tmp / 'fp.db'}", source_timezone=source_zone)
        mysql_spec = source_spec(
            self.mariadb.url(),
            source_table="nps_fingerprints",
            password=self.mariadb.password,
            source_timezone=source_zone,
        )
        redshift = open_connection(self.postgres.url(), "psycopg2")

        def via(run: Callable[[str], list[tuple[Any, ...]]]) -> Any:
            class Query:
                def query(self, sql: str, params: Any) -> list[tuple[Any, ...]]:
                    return run(sql)

            return Query()

        def pg_rows(conn: Any) -> Callable[[str], list[tuple[Any, ...]]]:
            def run(sql: str) -> list[tuple[Any, ...]]:
                with conn.cursor() as cur:
                    cur.execute(sql)
                    return list(cur.fetchall())

            return run

        try:
            warehouses = {
                "duckdb": via(lambda sql: self.duck.execute(sql).fetchall()),
                "postgres": via(pg_rows(self.pg)),
                "redshift": via(pg_rows(redshift)),
            }
            found = {
                kind: warehouse_prints(
                    w, kind, "fp_state", FIRST, LAST, zone, source_zone, day_column=None
                )
                for kind, w in warehouses.items()
            }
        finally:
            redshift.rollback()
            redshift.close()
        for name, spec in (("sqlite", sqlite_spec), ("mariadb", mysql_spec)):
            prints = source_prints(spec, FIRST, LAST, zone)
            assert prints is not None
            found[name] = prints
        return found


@pytest.fixture(scope="module")
def engines(
    mariadb: MariaDB, postgres: Postgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engines]:
    found = Engines(tmp_path_factory.mktemp("fingerprints"), mariadb, postgres)
    yield found
    found.pg.close()
    found.duck.close()


def mutate(row: Row, column: int) -> Row:
    """The row with one compared column changed (a NULL set, a value moved, a flag flipped)."""
    values = list(row)
    value = values[column]
    if column == 0:
        values[0] = value + 1000
    elif column in (1, 2):
        values[column] = (
            START + dt.timedelta(days=1) if value is None else value + dt.timedelta(microseconds=1)
        )
        if column == 2 and value is not None and row[1] is not None:
            values[2] = None  # a NULL cursor
    elif column == 3:
        values[3] = not value
    else:
        values[4] = 5 if value is None else (None if value == 5 else value + 1)
    return (values[0], values[1], values[2], values[3], values[4])


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    rows=rows_strategy,
    source_zone=st.sampled_from(["UTC", "Asia/Seoul"]),
    zone=st.sampled_from(["UTC", "Asia/Seoul"]),
    which=st.integers(0, 10**6),
    column=st.integers(0, 4),
)
def test_fingerprints_agree_across_engines_and_change_with_any_column(
    engines: Engines, rows: list[Row], source_zone: str, zone: str, which: int, column: int
) -> None:
    engines.write(rows, source_zone)
    expected = reference(rows, source_zone, zone)
    before = engines.prints(source_zone, zone)
    for engine, prints in before.items():
        assert prints == expected, engine

    index = which % len(rows)
    changed = [*rows]
    changed[index] = mutate(rows[index], column)
    after_expected = reference(changed, source_zone, zone)
    if after_expected == expected:
        return  # the row lies outside the range before and after: no day to change
    engines.write(changed, source_zone)
    after = engines.prints(source_zone, zone)
    for engine, prints in after.items():
        assert prints == after_expected, engine
        assert prints != before[engine], engine
