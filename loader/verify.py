"""Reconcile the source with ``nps_summary_daily`` day by day."""

from __future__ import annotations

import datetime as dt

from loader.dates import Window
from loader.pipeline import Settings
from loader.source import daily_counts


def verify_days(settings: Settings, first: dt.date, last: dt.date) -> list[str]:
    """One line per day whose counts differ between the source and the mart; empty when all match."""
    source = daily_counts(
        settings.require_source(),
        Window.for_day(first, dt.timedelta()),
        Window.for_day(last, dt.timedelta()),
    )
    target = settings.warehouse_target()
    warehouse = settings.warehouse()
    try:
        mart = warehouse.daily_summary(target.schema, first, last)
    finally:
        warehouse.close()
    lines = []
    for day in sorted(set(source) | set(mart)):
        want, got = source.get(day, (0, 0, 0)), mart.get(day, (0, 0, 0))
        if want != got:
            lines.append(
                f"{day}: source has promoters/passives/detractors {want[0]}/{want[1]}/{want[2]}, "
                f"nps_summary_daily has {got[0]}/{got[1]}/{got[2]}"
            )
    return lines
