"""Reconcile the source with ``nps_summary_daily`` day by day (days of the reporting zone).

The source is compared as of the newest loaded window's end (the cutoff): responses changed
after it are not in the warehouse yet, so they are left out on both sides instead of being
reported as differences. The source's rows created in the range are read with the loader's own
reader (the same time-zone conversion as the extract) and counted here, in Arrow.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute

from loader.dates import UTC, local_midnight_utc
from loader.errors import ConfigError, WarehouseError
from loader.identifiers import validate_identifier
from loader.pipeline import Settings
from loader.source import EXTRACT_SCHEMA, RowFilter, SourceSpec, read_rows

pc: Any = pyarrow.compute  # the compute stubs do not type scalar comparisons well
CATEGORIES = {"promoter": 0, "passive": 1, "detractor": 2}
DailyCounts = dict[str, tuple[int, int, int]]  # ISO day -> (promoters, passives, detractors)


@dataclass(frozen=True)
class SourceTally:
    """What the source says about the responses created in a range of days."""

    counts: DailyCounts  # valid, not-deleted responses last changed before the cutoff, per day
    changed_ids: list[int]  # responses changed at or after the cutoff: not loaded yet


def local_dates(instants: Any, zone: str) -> Any:
    """Naive UTC timestamps to their calendar dates in ``zone``."""
    if zone == UTC:
        return pc.cast(instants, pa.date32())
    aware = pc.assume_timezone(instants, "UTC").cast(pa.timestamp("us", tz=zone))
    return pc.cast(pc.local_timestamp(aware), pa.date32())


def tally(
    spec: SourceSpec, first: dt.date, last: dt.date, zone: str, cutoff: dt.datetime
) -> SourceTally:
    """Count the source's current responses created on the days ``first..last`` of ``zone``.

    Responses changed at or after ``cutoff`` (naive UTC: the end of the newest loaded window)
    are set apart: the warehouse cannot know them yet.
    """
    start = local_midnight_utc(first, zone)
    end = local_midnight_utc(last + dt.timedelta(days=1), zone)
    table: Any = pa.Table.from_batches(
        list(read_rows(spec, RowFilter("created_at", start, end))), schema=EXTRACT_SCHEMA
    )
    created = table.column("created_at")
    bound = pa.scalar(start, pa.timestamp("us")), pa.scalar(end, pa.timestamp("us"))
    table = table.filter(pc.and_(pc.greater_equal(created, bound[0]), pc.less(created, bound[1])))
    late = pc.greater_equal(table.column("modified"), pa.scalar(cutoff, pa.timestamp("us")))
    changed_ids = [int(i) for i in table.filter(late).column("id").to_pylist()]
    score = table.column("score")
    current = table.filter(
        pc.and_(
            pc.and_(pc.invert(late), pc.invert(pc.fill_null(table.column("deleted"), False))),
            pc.and_(pc.greater_equal(score, 0), pc.less_equal(score, 10)),
        )
    )
    score = current.column("score")
    grouped = (
        pa.table(
            {
                "day": local_dates(current.column("created_at"), zone),
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
    counts = {
        str(row["day"]): (int(row["p_sum"]), int(row["pa_sum"]), int(row["d_sum"]))
        for row in grouped.to_pylist()
    }
    return SourceTally(counts, changed_ids)


def verify_days(settings: Settings, first: dt.date, last: dt.date) -> list[str]:
    """One line per day whose counts differ between the source and the mart; empty when all match."""
    spec = settings.require_source()
    schema = validate_identifier(settings.warehouse_target().schema, "the dbt target schema")
    raw = settings.raw_schema
    warehouse = settings.warehouse()
    try:
        (cutoff,) = warehouse.query(f"select max(window_end) from {raw}.nps_loads", ())[0]
        if cutoff is None:
            raise WarehouseError("nothing has been loaded yet: run nps-loader first")
        zone = settings.reporting_timezone
        for (built,) in warehouse.query(
            f"select distinct _reporting_timezone from {schema}.int_nps_responses_current", ()
        ):
            if built != zone:
                raise ConfigError(
                    f"the marts count days of {built} but verify was asked for days of {zone}: "
                    f"set --reporting-timezone / NPS_REPORTING_TIMEZONE to {built}"
                )
        source = tally(spec, first, last, zone, cutoff)
        mart: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for day, promoters, passives, detractors in warehouse.query(
            "select response_date, promoters, passives, detractors "
            f"from {schema}.nps_summary_daily where response_date between %s and %s",
            (first, last),
        ):
            mart[str(day)[:10]] = [int(promoters), int(passives), int(detractors)]
        for offset in range(0, len(source.changed_ids), 1000):  # not yet loaded: leave them out
            chunk = source.changed_ids[offset : offset + 1000]
            for day, category in warehouse.query(
                f"select response_date, category from {schema}.fct_nps_responses "
                f"where id in ({', '.join(['%s'] * len(chunk))})",
                tuple(chunk),
            ):
                mart[str(day)[:10]][CATEGORIES[category]] -= 1
    finally:
        warehouse.close()
    lines = []
    for day in sorted(set(source.counts) | set(mart)):
        want, got = source.counts.get(day, (0, 0, 0)), tuple(mart.get(day, (0, 0, 0)))
        if want != got:
            lines.append(
                f"{day}: source has promoters/passives/detractors {want[0]}/{want[1]}/{want[2]}, "
                f"nps_summary_daily has {got[0]}/{got[1]}/{got[2]}"
            )
    return lines
