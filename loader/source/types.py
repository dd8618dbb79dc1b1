"""The type policy: which source types each extract column accepts, and the conversion of a
source's values (Python rows or another driver's Arrow) into the extract schema, in UTC."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from loader.dates import UTC, wall_clock_bounds
from loader.errors import SourceError
from loader.source.spec import RowFilter, SourceSpec
from loader.tables import EXTRACT_SCHEMA, SOURCE_COLUMNS

#: The types each extract column accepts, by the source's own type names (lower case, no size).
#: A cursor that is not a date/time type would be compared as text and lose rows: refused.
_ACCEPTED_TYPES = {
    "mysql": {
        "id": {"bigint", "int", "integer", "mediumint", "smallint", "tinyint"},
        "created_at": {"datetime", "timestamp"},
        "modified": {"datetime", "timestamp"},
        "deleted": {"tinyint", "boolean", "bool", "int", "integer", "smallint"},
        "score": {"tinyint", "smallint", "mediumint", "int", "integer", "bigint"},
    },
    # SQLite has no date type: the demo stores timestamps as ISO text.
    "sqlite": {
        "id": {"bigint", "int", "integer"},
        "created_at": {"datetime", "timestamp", "text"},
        "modified": {"datetime", "timestamp", "text"},
        "deleted": {"boolean", "bool", "int", "integer", "tinyint"},
        "score": {"int", "integer", "smallint", "tinyint"},
    },
}

#: Source types that hold an instant (read in UTC); every other time type is a naive wall clock.
_INSTANT_TYPES = {"timestamp"}


@dataclass(frozen=True)
class SourceColumns:
    """The source table as it was found: each extract role's type name."""

    types: dict[str, str]  # extract role -> source type name (lower case, no size)

    def is_naive(self, role: str) -> bool:
        return self.types.get(role) not in _INSTANT_TYPES


def check_columns(spec: SourceSpec, present: dict[str, str]) -> SourceColumns:
    """``present`` maps each source column (lower case) to its type name."""
    if not present:
        raise SourceError(f"source table {spec.table!r} does not exist (check --source-table)")
    missing = [c for c, _ in spec.select_columns if c is not None and c.lower() not in present]
    if missing:
        raise SourceError(
            f"source table {spec.table!r} has no column {', '.join(missing)} "
            f"(it has {', '.join(sorted(present))}); set --cursor-column/--deleted-column"
        )
    types: dict[str, str] = {}
    accepted = _ACCEPTED_TYPES[spec.kind]
    for column, role in spec.select_columns:
        if column is None:
            continue
        found = re.split(r"[\s(]", present[column.lower()].strip().lower(), maxsplit=1)[0]
        if found not in accepted[role]:
            why = (
                " (the cursor must be a date/time type: compared as text it would lose rows)"
                if role == "modified"
                else "; has the production schema changed?"
            )
            raise SourceError(
                f"source column {spec.table}.{column} has type {found or 'none'}, which cannot "
                f"be read as {role} (expected one of {', '.join(sorted(accepted[role]))}){why}"
            )
        types[role] = found
    return SourceColumns(types)


def source_bounds(
    spec: SourceSpec, columns: SourceColumns, row_filter: RowFilter
) -> tuple[dt.datetime, dt.datetime]:
    """The filter's instants in the terms the source compares its column in."""
    if not columns.is_naive(row_filter.column_role):
        return row_filter.start, row_filter.end
    return wall_clock_bounds(row_filter.start, row_filter.end, spec.source_timezone)


def outlier_bound(spec: SourceSpec, columns: SourceColumns, instant: dt.datetime) -> dt.datetime:
    """An instant (naive UTC) in the terms the source compares its cursor in."""
    return source_bounds(spec, columns, RowFilter("modified", instant, instant))[0]


def to_utc(batch: pa.RecordBatch, spec: SourceSpec, columns: SourceColumns) -> pa.RecordBatch:
    """Naive wall-clock columns of the source zone to naive UTC instants.

    An ambiguous wall-clock time (the repeated hour when clocks go back) is read as its first
    occurrence; a time that does not exist (the hour skipped when clocks go forward) as the last
    instant before the jump. Either way it stays on its local day.
    """
    if spec.source_timezone == UTC:
        return batch
    arrays = list(batch.columns)
    for index, role in ((1, "created_at"), (2, "modified")):
        if columns.is_naive(role):
            naive: Any = arrays[index]
            arrays[index] = pc.assume_timezone(
                naive, spec.source_timezone, ambiguous="earliest", nonexistent="earliest"
            ).cast(pa.timestamp("us"))
    return pa.RecordBatch.from_arrays(arrays, schema=EXTRACT_SCHEMA)


def _column(values: Sequence[Any], target: pa.DataType, as_text: bool) -> pa.Array[Any]:
    """Build one Arrow column; text is parsed by Arrow (in C++), far faster than per-row Python."""
    if as_text:
        return pa.array(values, pa.string()).cast(target)
    return pa.array(values, target)


#: The extract type each role is read as (EXTRACT_SCHEMA, with booleans read as small ints).
_ROLE_TYPES: list[tuple[str, pa.DataType]] = [
    (c.name, pa.int8() if c.arrow == pa.bool_() else c.arrow) for c in SOURCE_COLUMNS
]


def unreadable_value(
    spec: SourceSpec, index: int, values: Sequence[Any], ids: Sequence[Any], as_text: bool
) -> SourceError:
    """The error for the first value of column ``index`` that its extract type cannot hold,
    naming the column, the value and the row's id (found value by value: only on failure)."""
    role, target = _ROLE_TYPES[index]
    column = dict((r, c) for c, r in spec.select_columns)[role] or role
    sql_type = SOURCE_COLUMNS[index].sql
    for value, id_ in zip(values, ids, strict=True):
        try:
            _column([value], target, as_text)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            text = value.decode() if isinstance(value, bytes) else value
            why = (
                f"outside the range of raw.nps.score ({sql_type}); valid scores are 0-10"
                if role == "score"
                else f"which cannot be read as a {sql_type}"
            )
            return SourceError(
                f"source column {spec.table}.{column} holds {text} (id {id_}), {why}: fix the "
                "row in the source (nothing was written or loaded; raw keeps rows as the source "
                "has them, so a value it cannot store is refused, not changed)"
            )
    return SourceError(
        f"a value of source column {spec.table}.{column} cannot be read as a {sql_type}"
    )


def to_batch(spec: SourceSpec, rows: Sequence[tuple[Any, ...]], all_text: bool) -> pa.RecordBatch:
    """Rows of (id, created_at, modified, deleted, score) to a batch of :data:`EXTRACT_SCHEMA`.

    ``all_text``: every value arrives as text (pymysql without converters); otherwise only the
    timestamps do (SQLite).
    """
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in EXTRACT_SCHEMA]
    arrays = []
    for index, (_, target) in enumerate(_ROLE_TYPES):
        as_text = all_text or target == pa.timestamp("us")
        try:
            arrays.append(_column(columns[index], target, as_text))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            raise unreadable_value(spec, index, columns[index], columns[0], as_text) from None
        if index == 0 and arrays[0].null_count:
            raise SourceError("the extract has a row with a null id; nothing was written or loaded")
    arrays[3] = arrays[3].cast(pa.bool_())
    return pa.RecordBatch.from_arrays(arrays, schema=EXTRACT_SCHEMA)


def conform(spec: SourceSpec, batch: pa.RecordBatch) -> pa.RecordBatch:
    """An Arrow batch from another driver, cast to exactly :data:`EXTRACT_SCHEMA`."""
    if batch.column(0).null_count:
        raise SourceError("the extract has a row with a null id; nothing was written or loaded")
    arrays = []
    for index, (_, target) in enumerate(_ROLE_TYPES):
        try:
            arrays.append(batch.column(index).cast(target))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            values, ids = batch.column(index).to_pylist(), batch.column(0).to_pylist()
            raise unreadable_value(spec, index, values, ids, as_text=False) from None
    arrays[3] = arrays[3].cast(pa.bool_())
    return pa.RecordBatch.from_arrays(arrays, schema=EXTRACT_SCHEMA)


#: Column types the connectorx fast path reads exactly as the pymysql path does.
FAST_PATH_TYPES = {
    "bigint",
    "int",
    "integer",
    "mediumint",
    "smallint",
    "tinyint",
    "datetime",
    "boolean",
    "bool",
}
