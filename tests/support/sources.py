"""The production tables the tests write: SQLite and MariaDB, rewritable to any moment of an
event history."""

from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from loader.demo import Event, write_sqlite
from tests.support.servers import MariaDB

SourceRow = tuple[int, dt.datetime | None, dt.datetime | None, bool, int | None]


class TestSource:
    """A production table the tests can rewrite to any moment of an event history."""

    __test__ = False  # not a pytest test class
    url: str
    table: str = "nps"
    password: str | None = None

    def write(self, rows: Iterable[Event]) -> None:
        raise NotImplementedError

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        """One statement on the table (written for table ``"nps"``, ``?`` placeholders)."""
        raise NotImplementedError

    def rows(self) -> list[SourceRow]:
        """The table as it is now, read straight from the source (for the oracle)."""
        raise NotImplementedError


class SqliteSource(TestSource):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"

    def write(self, rows: Iterable[Event]) -> None:
        write_sqlite(self.path, rows)

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        """One statement on the table as its application would run it (``?`` placeholders)."""
        import sqlite3

        conn = sqlite3.connect(self.path)
        try:
            with conn:
                conn.execute(sql, params)
        finally:
            conn.close()

    def rows(self) -> list[SourceRow]:
        import sqlite3

        def ts(value: str | None) -> dt.datetime | None:
            return dt.datetime.fromisoformat(value) if value else None

        conn = sqlite3.connect(self.path)
        try:
            rows = conn.execute(
                "select id, created_at, modified, deleted, score from nps"
            ).fetchall()
        finally:
            conn.close()
        return [(r[0], ts(r[1]), ts(r[2]), bool(r[3]), r[4]) for r in rows]


class MySQLSource(TestSource):
    """A table in the MariaDB test server, read by the loader as the read-only user."""

    def __init__(self, server: MariaDB, table: str) -> None:
        self.server = server
        self.table = table
        self.url = server.url()
        self.password = server.password

    def write(self, rows: Iterable[Event]) -> None:
        conn = self.server.admin()
        try:
            with conn.cursor() as cur:
                cur.execute(
                    f"create table if not exists `{self.table}` (id bigint primary key, "
                    "created_at datetime(6) null, modified datetime(6) null, "
                    "deleted boolean not null default 0, score smallint null, key (modified))"
                )
                cur.execute(f"delete from `{self.table}`")
                data = [(r.id, r.created_at, r.modified, r.deleted, r.score) for r in rows]
                for start in range(0, len(data), 5000):
                    cur.executemany(
                        f"insert into `{self.table}` values (%s, %s, %s, %s, %s)",
                        data[start : start + 5000],
                    )
        finally:
            conn.close()

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        conn = self.server.admin()
        try:
            with conn.cursor() as cur:
                cur.execute(sql.replace("?", "%s").replace('"nps"', f"`{self.table}`"), params)
        finally:
            conn.close()

    def rows(self) -> list[SourceRow]:
        conn = self.server.admin()
        try:
            with conn.cursor() as cur:
                cur.execute(f"select id, created_at, modified, deleted, score from `{self.table}`")
                return [(r[0], r[1], r[2], bool(r[3]), r[4]) for r in cur.fetchall()]
        finally:
            conn.close()


def mysql_table(server: MariaDB, name: str, ddl: str, rows: list[tuple[Any, ...]]) -> None:
    """(Re)create a table of the test MariaDB with these columns and rows."""
    conn = server.admin()
    try:
        with conn.cursor() as cur:
            cur.execute(f"drop table if exists {name}")
            cur.execute(f"create table {name} ({ddl})")
            if rows:
                marks = ", ".join(["%s"] * len(rows[0]))
                cur.executemany(f"insert into {name} values ({marks})", rows)
    finally:
        conn.close()


def sqlite_source(
    path: Path, rows: Iterable[tuple[object, ...]], ddl: str | None = None
) -> SqliteSource:
    """A SQLite table ``nps`` holding ``rows`` (any iterable: a generator for large tables)."""
    conn = sqlite3.connect(path)
    conn.execute(
        ddl
        or "create table nps (id integer primary key, created_at text, modified text, "
        "deleted integer, score integer)"
    )
    first, rest = _peek(iter(rows))
    marks = ", ".join("?" * len(first))
    conn.executemany(f"insert into nps values ({marks})", itertools.chain([first], rest))
    conn.commit()
    conn.close()
    return SqliteSource(path)


def _peek(
    rows: Iterator[tuple[object, ...]],
) -> tuple[tuple[object, ...], Iterator[tuple[object, ...]]]:
    return next(rows), rows
