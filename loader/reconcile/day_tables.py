"""Each side of a day as reconcile compares it: the source's rows and the warehouse's current
state of the responses created on a local day, as Arrow tables, and the rows of the two that are
worth a look (found by a join on id in Arrow, so that equal rows never become Python rows)."""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loader.errors import SourceError
from loader.reconcile.model import Content, Stored, day_state_sql
from loader.settings import Settings
from loader.source import RowFilter, read_rows
from loader.tables import SOURCE_COLUMNS
from loader.warehouse import Warehouse

#: Both sides of a day as compared: the source's columns, typed as every extract types them.
_CONTENT = pa.schema([(c.name, c.arrow) for c in SOURCE_COLUMNS])
#: The warehouse side adds what a correction needs: the version it takes the place of and the
#: correction the current version is (day_state_sql's last two columns).
_STORED = pa.schema([*_CONTENT, ("version", pa.timestamp("us")), ("_correction", pa.string())])


class Days:
    """Parts of a table grouped by local day as they stream in (nearly) created_at order: a day
    is handed on once rows two days later have arrived, so a source read in wall-clock order (a
    repeated hour) never splits a day. At most three days are held at a time."""

    def __init__(self, midnights: list[dt.datetime]) -> None:
        self.midnights = midnights
        self.edges = np.array(midnights, dtype="datetime64[us]")
        self.open: dict[int, list[Any]] = {}
        self.newest = -1
        self.handed_on = -1  # the last day handed on

    def index(self, created_at: dt.datetime | None) -> int | None:
        if created_at is None or not self.midnights[0] <= created_at < self.midnights[-1]:
            return None
        return bisect.bisect_right(self.midnights, created_at) - 1

    def indexes(self, created_at: Any) -> Any:
        """``index`` of every value, -1 where it is null or outside the days."""
        stamps = created_at.cast(pa.timestamp("us")).to_numpy(zero_copy_only=False)
        found = np.searchsorted(self.edges, stamps, side="right") - 1
        inside = (stamps >= self.edges[0]) & (stamps < self.edges[-1])  # NaT: never inside
        return np.where(inside, found, -1)

    def add(self, day: int, part: Any) -> Iterator[tuple[int, list[Any]]]:
        if day <= self.handed_on:  # compared already: it would be compared twice, wrongly
            raise SourceError(
                "the source returned its rows out of created_at order (a row of a day already "
                "compared arrived two days later); nothing was written"
            )
        self.open.setdefault(day, []).append(part)
        if day > self.newest:
            self.newest = day
            yield from self._flush(day - 2)

    def _flush(self, through: int) -> Iterator[tuple[int, list[Any]]]:
        for day in sorted(d for d in self.open if d <= through):
            self.handed_on = day
            yield day, self.open.pop(day)

    def rest(self) -> Iterator[tuple[int, list[Any]]]:
        yield from self._flush(len(self.midnights))


def _content(table: pa.Table | pa.RecordBatch, schema: pa.Schema) -> pa.Table:
    """``table`` as ``schema`` says, NULL deleted read as false (as the marts read it)."""
    columns: list[Any] = [table.column(f.name).cast(f.type) for f in schema]
    deleted = schema.get_field_index("deleted")
    columns[deleted] = pc.fill_null(columns[deleted], False)
    return pa.Table.from_arrays(columns, schema=schema)


def source_days(settings: Settings, midnights: list[dt.datetime]) -> Iterator[tuple[int, pa.Table]]:
    """The source's current rows created on the days of ``midnights``, a table per day."""
    days = Days(midnights)
    row_filter = RowFilter("created_at", midnights[0], midnights[-1], ordered=True)
    for batch in read_rows(settings.require_source(), row_filter):
        index = days.indexes(batch.column("created_at"))
        kept = index >= 0  # wall-clock bounds read a little more than the range
        table, index = _content(batch, _CONTENT).filter(pa.array(kept)), index[kept]
        starts = [0, *(np.flatnonzero(np.diff(index)) + 1).tolist(), len(index)]
        for start, stop in itertools.pairwise(starts):  # runs of one day, in arrival order
            if stop > start:
                for day, parts in days.add(int(index[start]), table.slice(start, stop - start)):
                    yield day, pa.concat_tables(parts)
    for day, parts in days.rest():
        yield day, pa.concat_tables(parts)


def warehouse_days(
    warehouse: Warehouse,
    raw: str,
    model: str | None,
    first: dt.date,
    midnights: list[dt.datetime],
    folded: bool,
) -> Iterator[tuple[int, pa.Table]]:
    """The warehouse's current responses, a query per day (day_state_sql: literals on each
    table's sort key; the model alone when dbt has ``folded`` in every load), handed on a day
    at a time."""
    days = Days(midnights)
    for index in range(len(midnights) - 1):
        sql = day_state_sql(
            raw,
            model,
            first + dt.timedelta(days=index),
            (midnights[index], midnights[index + 1]),
            folded=folded,
        )
        parts, rows = [], warehouse.stream(sql, ())
        while chunk := list(itertools.islice(rows, 50_000)):  # Python rows for a batch only
            columns = zip(*chunk, strict=True)
            parts.append(pa.table([pa.array(c) for c in columns], names=_STORED.names))
        if parts:
            table = _content(pa.concat_tables(parts, promote_options="permissive"), _STORED)
            yield index, table.filter(pa.array(days.indexes(table["created_at"]) == index))


def paired(
    a: Iterator[tuple[int, pa.Table]], b: Iterator[tuple[int, pa.Table]]
) -> Iterator[tuple[int, pa.Table | None, pa.Table | None]]:
    x, y = next(a, None), next(b, None)
    while x is not None or y is not None:
        if y is None or (x is not None and x[0] < y[0]):
            assert x is not None
            yield x[0], x[1], None
            x = next(a, None)
        elif x is None or y[0] < x[0]:
            yield y[0], None, y[1]
            y = next(b, None)
        else:
            yield x[0], x[1], y[1]
            x, y = next(a, None), next(b, None)


def _distinct(a: Any, b: Any) -> Any:
    """Per row: do ``a`` and ``b`` differ, a NULL being equal to a NULL only."""
    return pc.or_(pc.fill_null(pc.not_equal(a, b), False), pc.xor(pc.is_null(a), pc.is_null(b)))


def worth_a_look(
    src: pa.Table | None, wh: pa.Table | None, cutoff: dt.datetime, now: dt.datetime
) -> tuple[dict[int, Content], dict[int, Stored]]:
    """The rows of a day that ``_compare_days`` acts on, found by a join in Arrow: the ids on
    one side only, those whose content differs, and the source's rows changed at or after
    ``cutoff`` or in the future (counted as pending or reported). Equal rows stay in Arrow."""
    src = _CONTENT.empty_table() if src is None else src
    wh = _STORED.empty_table() if wh is None else wh
    names = _CONTENT.names[1:]
    left = src.rename_columns(["id", *(f"s_{n}" for n in names)])
    left = left.append_column("s_here", pa.array(np.ones(len(left), bool)))
    right = wh.rename_columns(["id", *(f"w_{n}" for n in _STORED.names[1:])])
    right = right.append_column("w_here", pa.array(np.ones(len(right), bool)))
    # One thread: the threaded join held ~50 MB more for a 400,000-row day and saved no time.
    both = left.join(right, keys="id", join_type="full outer", use_threads=False)
    source_modified = both["s_modified"]
    look: Any = pc.or_(pc.is_null(both["s_here"]), pc.is_null(both["w_here"]))
    for name in names:
        look = pc.or_(look, _distinct(both[f"s_{name}"], both[f"w_{name}"]))
    late: Any = pc.greater_equal(source_modified, pa.scalar(min(cutoff, now), pa.timestamp("us")))
    look = pc.or_(look, pc.fill_null(late, False))
    rows = both.filter(look).sort_by([("s_created_at", "ascending"), ("id", "ascending")])
    source: dict[int, Content] = {}
    stored: dict[int, Stored] = {}
    for row in rows.to_pylist():
        if row["s_here"]:
            source[row["id"]] = tuple(row[f"s_{n}"] for n in names)
        if row["w_here"]:
            content = tuple(row[f"w_{n}"] for n in names)
            stored[row["id"]] = Stored(content, row["w_version"], row["w__correction"])
    return source, stored
