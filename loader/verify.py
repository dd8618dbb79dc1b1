"""Reconcile the source with ``nps_summary_daily`` day by day.

The source is compared as of the newest loaded window's end (the cutoff): responses changed
after it are not in the warehouse yet, so they are left out on both sides instead of being
reported as differences.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from loader.errors import WarehouseError
from loader.pipeline import Settings
from loader.source import tally, validate_identifier

CATEGORIES = {"promoter": 0, "passive": 1, "detractor": 2}


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
        start = dt.datetime.combine(first, dt.time())
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time())
        source = tally(spec, start, end, cutoff)
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
