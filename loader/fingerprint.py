"""Day fingerprints: what verify and reconcile compare first, so their cost follows the damage.

A day's fingerprint is computed inside each database, in one aggregate query per range: the
number of rows created on that local day of the reporting zone, and the sum of the 60-bit
numbers that start the MD5 of each row's canonical text (order-independent). The canonical text
of a row is the same on every engine:

    id|created_at|modified|deleted|score

with timestamps as the source's wall clock (``YYYY-MM-DD HH:MM:SS.ffffff``; the warehouse
converts its UTC instants back to the source zone), ``N`` for NULL, ``deleted`` as 0 or 1
(NULL: 0). The source side reads the ``created_at`` range through its index (MySQL/MariaDB;
SQLite, the demo's stand-in, through functions registered on the connection); the warehouse
side reads the current state (DuckDB, PostgreSQL, Redshift's SQL: ``STRTOL``, ``TO_CHAR ...
US``, ``CONVERT_TIMEZONE``; AWS, "Datetime format strings",
https://docs.aws.amazon.com/redshift/latest/dg/r_FORMAT_strings.html).

Equal fingerprints prove the day equal (up to a 2^-60 chance); a day whose fingerprints differ
is compared row by row. Where a fingerprint cannot be computed the same way on both sides
(a source whose created_at or cursor is an instant type, e.g. MySQL TIMESTAMP), every day is
compared row by row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loader.dates import UTC, local_midnight_utc, wall_clock_bounds
from loader.errors import SourceError
from loader.source.spec import SourceSpec
from loader.source.url import sqlite_path
from loader.tables import DELETED

if TYPE_CHECKING:
    from loader.warehouse import Warehouse

#: the canonical text's timestamp format
TS_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


#: hex digits of each row's MD5 summed: 60 bits, a positive BIGINT on every engine
HEX_DIGITS = 15


@dataclass(frozen=True)
class DayPrint:
    rows: int
    total: int  # the sum of the first 60 bits of each row's MD5

    @property
    def digest(self) -> str:
        return f"{self.rows}:{self.total:x}"


def canonical(row: Sequence[Any]) -> str:
    """A row (id, created_at, modified, deleted, score; datetimes as the source's wall clock) as
    every engine writes it before hashing (the Python reference the tests hold the SQL to)."""
    id_, created, modified, deleted, score = row

    def ts(value: dt.datetime | None) -> str:
        return "N" if value is None else value.strftime(TS_FORMAT)

    return "|".join(
        [
            str(int(id_)),
            ts(created),
            ts(modified),
            "1" if deleted else "0",
            "N" if score is None else str(int(score)),
        ]
    )


def row_hash(text: str) -> int:
    return int(hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()[:HEX_DIGITS], 16)


def fold(rows: Sequence[Sequence[Any]]) -> DayPrint:
    """The fingerprint of ``rows`` computed in Python (the reference)."""
    return DayPrint(len(rows), sum(row_hash(canonical(r)) for r in rows))


def midnights(first: dt.date, last: dt.date, zone: str) -> list[dt.datetime]:
    """The UTC instants that start each day of ``first..last`` in ``zone``, and the end."""
    return [
        local_midnight_utc(first + dt.timedelta(days=n), zone)
        for n in range((last - first).days + 2)
    ]


def _day_case(column: str, bounds: Sequence[str]) -> str:
    """The day index of ``column`` (0 for the first day), the bounds given as SQL literals or
    placeholders: ``bounds[1:]`` are the ends of the days."""
    whens = " ".join(f"when {column} < {b} then {i}" for i, b in enumerate(bounds[1:]))
    return f"case {whens} end"


def _result(rows: Sequence[Sequence[Any]], first: dt.date | None) -> dict[dt.date, DayPrint]:
    """(day, rows, total) rows: the day as an index from ``first``, or (``first`` None) a date."""

    def day(value: Any) -> dt.date:
        if first is not None:
            return first + dt.timedelta(days=int(value))
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])

    return {day(r[0]): DayPrint(int(r[1]), int(r[2])) for r in rows if r[0] is not None}


# --- the source -------------------------------------------------------------------------------


def source_prints(
    spec: SourceSpec, first: dt.date, last: dt.date, zone: str
) -> dict[dt.date, DayPrint] | None:
    """The source's fingerprint of each day of ``first..last`` (days of ``zone``) that has
    rows; None when the source's columns cannot be fingerprinted as the warehouse's are."""
    utc_bounds = midnights(first, last, zone)
    local = [wall_clock_bounds(b, b, spec.source_timezone)[1] for b in utc_bounds]
    local[0] = wall_clock_bounds(utc_bounds[0], utc_bounds[0], spec.source_timezone)[0]
    if spec.kind == "sqlite":
        return _sqlite_prints(spec, first, local)
    return _mysql_prints(spec, first, local, zone)


def _mysql_prints(
    spec: SourceSpec, first: dt.date, bounds: list[dt.datetime], zone: str
) -> dict[dt.date, DayPrint] | None:
    from loader.source.mysql import column_types, connect_mysql

    def q(name: str) -> str:
        return f"`{name}`"

    created, cursor = q("created_at"), q(spec.cursor_column)
    deleted = (
        f"if(ifnull({q(spec.deleted_column)}, 0) <> 0, '1', '0')" if spec.deleted_column else "'0'"
    )
    fmt = "'%%Y-%%m-%%d %%H:%%i:%%s.%%f'"
    text = (
        f"concat(cast({q('id')} as char), '|', ifnull(date_format({created}, {fmt}), 'N'), '|', "
        f"ifnull(date_format({cursor}, {fmt}), 'N'), '|', {deleted}, '|', "
        f"ifnull(cast({q('score')} as char), 'N'))"
    )
    # the wall clock's date is the reporting day when the two zones are one (no bounds needed)
    same_zone = spec.source_timezone == zone
    day = f"date({created})" if same_zone else _day_case(created, ["%s"] * len(bounds))
    sql = (
        f"select {day} as day, count(*), "
        f"sum(cast(conv(substring(md5({text}), 1, {HEX_DIGITS}), 16, 10) as unsigned)) "
        f"from {q(spec.table)} where {created} >= %s and {created} < %s group by day"
    )
    conn = connect_mysql(spec)
    try:
        with conn.cursor() as cur:
            types = column_types(cur, spec.table)
            if "timestamp" in (types.get("created_at"), types.get(spec.cursor_column.lower())):
                return None  # instants: read in UTC by the loader, not the source's wall clock
            day_params = () if same_zone else tuple(bounds[1:])
            cur.execute(sql, (*day_params, bounds[0], bounds[-1]))
            return _result(cur.fetchall(), None if same_zone else first)
    finally:
        conn.close()


class _SqliteFingerprint:
    """``nps_fingerprint(id, created_at, modified, deleted, score)``: the day's digest parts, with
    SQLite's text timestamps read as the loader's SQLite reader reads them."""

    def __init__(self) -> None:
        self.rows = self.total = 0

    def step(self, id_: Any, created: Any, modified: Any, deleted: Any, score: Any) -> None:
        def ts(value: Any) -> dt.datetime | None:
            return None if value in (None, "") else dt.datetime.fromisoformat(str(value))

        self.rows += 1
        self.total += row_hash(canonical((id_, ts(created), ts(modified), bool(deleted), score)))

    def finalize(self) -> str:
        return f"{self.rows}:{self.total}"


def _sqlite_prints(
    spec: SourceSpec, first: dt.date, bounds: list[dt.datetime]
) -> dict[dt.date, DayPrint]:
    from loader.source.spec import SQLITE_TIMESTAMP_FORMAT

    path = sqlite_path(spec.url)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        conn.create_aggregate("nps_fingerprint", 5, _SqliteFingerprint)  # type: ignore[arg-type]
        text = [b.strftime(SQLITE_TIMESTAMP_FORMAT) for b in bounds]
        deleted = f'"{spec.deleted_column}"' if spec.deleted_column else "0"
        day = _day_case('"created_at"', ["?"] * len(bounds))
        sql = (
            f'select {day} as day, nps_fingerprint("id", "created_at", "{spec.cursor_column}", '
            f'{deleted}, "score") from "{spec.table}" '
            'where "created_at" >= ? and "created_at" < ? group by day'
        )
        rows = conn.execute(sql, (*text[1:], text[0], text[-1])).fetchall()
    except sqlite3.Error as exc:
        raise SourceError(f"SQLite source {path}: {exc}") from exc
    finally:
        conn.close()
    return _result([(r[0], *str(r[1]).split(":")) for r in rows], first)


# --- the warehouse ----------------------------------------------------------------------------


def warehouse_prints(
    warehouse: Warehouse,
    kind: str,
    relation: str,
    first: dt.date,
    last: dt.date,
    zone: str,
    source_zone: str,
    where: str = f"_correction is null or _correction <> '{DELETED}'",
    day_column: str | None = "response_date",
) -> dict[dt.date, DayPrint]:
    """The fingerprint of each day of ``first..last`` of ``relation`` (the current state: id,
    created_at, modified, is_deleted, score in naive UTC), on a warehouse of ``kind``
    (duckdb, postgres or redshift), of its rows matching ``where`` (by default every row but
    the tombstones reconcile wrote for responses deleted from the source, which the source no
    longer has). ``day_column``, the relation's reporting day (its sort key on Redshift), bounds
    the read by literals as well."""
    bounds = midnights(first, last, zone)

    def wall(column: str) -> str:
        if source_zone == UTC:
            return column
        if kind == "redshift":
            return f"convert_timezone('UTC', '{source_zone}', {column})"
        return f"cast(({column} at time zone 'UTC') at time zone '{source_zone}' as timestamp)"

    def ts(column: str) -> str:
        if kind == "duckdb":
            return f"coalesce(strftime({wall(column)}, '%Y-%m-%d %H:%M:%S.%f'), 'N')"
        return f"coalesce(to_char({wall(column)}, 'YYYY-MM-DD HH24:MI:SS.US'), 'N')"

    text = (
        f"cast(id as varchar) || '|' || {ts('created_at')} || '|' || {ts('modified')} || '|' || "
        "case when coalesce(is_deleted, false) then '1' else '0' end || '|' || "
        "coalesce(cast(score as varchar), 'N')"
    )

    piece = f"substring(md5({text}), 1, {HEX_DIGITS})"
    if kind == "redshift":  # SUM of a BIGINT is a BIGINT there: sum NUMERIC instead
        number = f"cast(strtol({piece}, 16) as numeric(38, 0))"
    elif kind == "duckdb":
        number = f"cast('0x' || {piece} as bigint)"
    else:
        number = f"cast(cast('x' || {piece} as bit({HEX_DIGITS * 4})) as bigint)"
    literals = [f"cast('{b.isoformat(' ')}' as timestamp)" for b in bounds]
    # in UTC the instant's date is the reporting day (no bounds needed)
    day = "cast(created_at as date)" if zone == UTC else _day_case("created_at", literals)
    sql = (
        f"select {day} as day, count(*), sum({number}) from {relation} "
        f"where created_at >= {literals[0]} and created_at < {literals[-1]} and ({where}) "
        + (
            f"and {day_column} between cast('{first}' as date) and cast('{last}' as date) "
            if day_column
            else ""
        )
        + "group by 1"
    )
    return _result(warehouse.query(sql, ()), None if zone == UTC else first)


def equal_days(
    spec: SourceSpec,
    warehouse: Warehouse,
    kind: str,
    relation: str,
    first: dt.date,
    last: dt.date,
    zone: str,
) -> dict[dt.date, DayPrint]:
    """The days of ``first..last`` whose fingerprints agree in the source and in ``relation``
    (the current state), with their fingerprint (a day with no rows on either side agrees). The
    source computes its side on a thread of its own while the warehouse computes its side."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="source-fingerprint") as pool:
        source_side = pool.submit(source_prints, spec, first, last, zone)
        stored = warehouse_prints(
            warehouse, kind, relation, first, last, zone, spec.source_timezone
        )
        source = source_side.result()
    if source is None:
        return {}
    empty = DayPrint(0, 0)
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    return {
        day: source.get(day, empty)
        for day in days
        if source.get(day, empty) == stored.get(day, empty)
    }
