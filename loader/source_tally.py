"""The source's side of verify: every row created on the range's days accounted for, counted
per day and category as the batches arrive (memory flat in the range), or named as unaccounted
(a NULL or future cursor) or not loaded yet (changed after the newest loaded window)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute

from loader.dates import UTC, local_midnight_utc, utc_now
from loader.source import RowFilter, SourceSpec, read_rows

pc: Any = pyarrow.compute  # the compute stubs do not type scalar comparisons well
CATEGORIES = {"promoter": 0, "passive": 1, "detractor": 2}
#: How many ids of each kind of unaccounted row a report names per day.
SHOWN_IDS = 5


@dataclass
class Unaccounted:
    """Source rows of one day that no extract reads: their cursor is NULL or in the future."""

    null_cursor: int = 0
    future_cursor: int = 0
    ids: list[int] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.null_cursor + self.future_cursor


@dataclass
class SourceTally:
    """What the source says about the responses created in a range of days."""

    #: ISO day -> [promoters, passives, detractors]: valid, not-deleted, changed before the cutoff
    counts: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    #: responses changed at or after the cutoff: not loaded yet
    changed_ids: list[int] = field(default_factory=list)
    #: ISO day -> the rows of that day that cannot be accounted for
    unaccounted: dict[str, Unaccounted] = field(default_factory=lambda: defaultdict(Unaccounted))
    #: the rows with a NULL cursor: id -> (ISO day, created_at, deleted, score)
    null_cursor_rows: dict[int, tuple[str, Any, bool, int | None]] = field(default_factory=dict)


def local_dates(instants: Any, zone: str) -> Any:
    """Naive UTC timestamps to their calendar dates in ``zone``."""
    if zone == UTC:
        return pc.cast(instants, pa.date32())
    aware = pc.assume_timezone(instants, "UTC").cast(pa.timestamp("us", tz=zone))
    return pc.cast(pc.local_timestamp(aware), pa.date32())


def _ids_by_day(table: Any) -> Iterable[tuple[str, int]]:
    for day, id_ in zip(
        table.column("day").to_pylist(), table.column("id").to_pylist(), strict=True
    ):
        yield str(day), int(id_)


def count_batch(
    tally: SourceTally,
    batch: pa.RecordBatch,
    bounds: tuple[dt.datetime, dt.datetime],
    zone: str,
    cutoff: dt.datetime,
    now: dt.datetime,
) -> None:
    """Fold one batch of source rows (extract schema, UTC) into ``tally``."""
    ts = pa.timestamp("us")
    table: Any = pa.Table.from_batches([batch])
    created = table.column("created_at")
    table = table.filter(
        pc.and_(
            pc.greater_equal(created, pa.scalar(bounds[0], ts)),
            pc.less(created, pa.scalar(bounds[1], ts)),
        )
    )
    table = table.append_column("day", local_dates(table.column("created_at"), zone))
    modified = table.column("modified")
    null_cursor = pc.is_null(modified)
    future = pc.fill_null(pc.greater(modified, pa.scalar(now, ts)), False)
    nulls = table.filter(null_cursor)
    for id_, day, created, deleted, score in zip(
        nulls.column("id").to_pylist(),
        nulls.column("day").to_pylist(),
        nulls.column("created_at").to_pylist(),
        nulls.column("deleted").to_pylist(),
        nulls.column("score").to_pylist(),
        strict=True,
    ):
        tally.null_cursor_rows[int(id_)] = (str(day), created, bool(deleted), score)
    for mask, kind in ((null_cursor, "null_cursor"), (future, "future_cursor")):
        for day, id_ in _ids_by_day(table.filter(mask)):
            entry = tally.unaccounted[day]
            setattr(entry, kind, getattr(entry, kind) + 1)
            if len(entry.ids) < SHOWN_IDS:
                entry.ids.append(id_)
    known = table.filter(pc.invert(pc.or_(null_cursor, future)))
    late = pc.greater_equal(known.column("modified"), pa.scalar(cutoff, ts))
    tally.changed_ids.extend(int(i) for i in known.filter(late).column("id").to_pylist())
    score = known.column("score")
    current = known.filter(
        pc.and_(
            pc.and_(pc.invert(late), pc.invert(pc.fill_null(known.column("deleted"), False))),
            pc.and_(pc.greater_equal(score, 0), pc.less_equal(score, 10)),
        )
    )
    score = current.column("score")
    grouped = (
        pa.table(
            {
                "day": current.column("day"),
                "p": pc.cast(pc.greater_equal(score, 9), pa.int64()),
                "pa": pc.cast(
                    pc.and_(pc.greater_equal(score, 7), pc.less_equal(score, 8)), pa.int64()
                ),
                "d": pc.cast(pc.less_equal(score, 6), pa.int64()),
            }
        )
        .group_by("day")
        .aggregate([("p", "sum"), ("pa", "sum"), ("d", "sum")])
    )
    for row in grouped.to_pylist():
        counts = tally.counts[str(row["day"])]
        counts[0] += int(row["p_sum"])
        counts[1] += int(row["pa_sum"])
        counts[2] += int(row["d_sum"])


def tally(
    spec: SourceSpec,
    first: dt.date,
    last: dt.date,
    zone: str,
    cutoff: dt.datetime,
    now: dt.datetime | None = None,
    into: SourceTally | None = None,
) -> SourceTally:
    """Account for every source row created on the days ``first..last`` of ``zone`` (added to
    ``into``, if given).

    ``cutoff`` (naive UTC): the end of the newest loaded window; ``now`` (naive UTC, default the
    clock): a cursor after it is in the future.
    """
    now = now or utc_now()
    bounds = local_midnight_utc(first, zone), local_midnight_utc(last + dt.timedelta(days=1), zone)
    result = into if into is not None else SourceTally()
    for batch in read_rows(spec, RowFilter("created_at", *bounds)):
        count_batch(result, batch, bounds, zone, cutoff, now)
    return result


def unaccounted_line(day: str, entry: Unaccounted) -> str:
    kinds = []
    if entry.null_cursor:
        kinds.append(f"{entry.null_cursor} with a NULL cursor")
    if entry.future_cursor:
        kinds.append(f"{entry.future_cursor} with a cursor in the future")
    shown = ", ".join(str(i) for i in entry.ids) + (" ..." if entry.rows > len(entry.ids) else "")
    rows = "1 source row" if entry.rows == 1 else f"{entry.rows} source rows"
    return (
        f"{day}: {rows} cannot be accounted for ({' and '.join(kinds)}; id {shown}): no day's "
        "extract reads them; fix their cursor in the source"
    )


def _category(score: int | None) -> int | None:
    if score is None or not 0 <= score <= 10:
        return None
    return 0 if score >= 9 else 1 if score >= 7 else 2


def account_for_null_cursors(source: SourceTally, stored: list[tuple[Any, ...]]) -> None:
    """Rows with a NULL cursor that the warehouse holds as the source does (a reconcile brought
    them in): counted like any row, no longer unaccounted."""
    for id_, created, deleted, score in stored:
        day, want_created, want_deleted, want_score = source.null_cursor_rows[int(id_)]
        if (created, bool(deleted), score) != (want_created, want_deleted, want_score):
            continue
        entry = source.unaccounted[day]
        entry.null_cursor -= 1
        if int(id_) in entry.ids:
            entry.ids.remove(int(id_))
        if entry.rows == 0:
            del source.unaccounted[day]
        category = _category(score)
        if not deleted and category is not None:
            source.counts[day][category] += 1
