"""Which days the warehouse has loaded: one rule for verify, reconcile and the load-window checks.

A day is loaded when a *day load* of it is in ``raw.nps_loads`` (``kind = 'day'``); a reconcile's
load never makes a day loaded, nor moves the cutoff. The cutoff is the end of the newest day
load's window: a source row whose cursor is at or after it is not loaded yet, on any day.

A day that is not loaded is either a *hole* (loaded days on both sides of it), before the first
loaded day, or after the newest one; each is loaded by ``nps-loader run --date D`` (a run of
them by a backfill).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from loader.dates import as_date
from loader.errors import ConfigError, WarehouseError
from loader.tables import DAY_LOADS

if TYPE_CHECKING:
    from loader.table_names import TableNames
    from loader.warehouse import Warehouse


@dataclass(frozen=True)
class LoadedDays:
    #: the run dates of the range asked about that a day load covers
    days: frozenset[dt.date]
    #: the first and the newest day ever loaded
    first: dt.date
    newest: dt.date
    #: the newest day load's window end (naive UTC)
    cutoff: dt.datetime
    #: what the source's DATETIME values meant to the newest day load that recorded it
    source_zone: str | None = None

    def check_source_zone(self, zone: str, command: str) -> None:
        """Refuse to compare the source read in another zone than the day loads read it in:
        every row would look rewritten (and move across day boundaries)."""
        if self.source_zone is not None and zone != self.source_zone:
            raise ConfigError(
                f"the day loads read the source's DATETIME values as {self.source_zone} and "
                f"{command} was asked to read them as {zone}: every row would look changed. "
                f"Set --source-timezone / NPS_SOURCE_TIMEZONE to {self.source_zone}"
            )

    def why_not_loaded(self, day: dt.date) -> str | None:
        """None for a loaded day; else where the day sits, in words."""
        if day in self.days:
            return None
        if day > self.newest:
            return f"after the newest loaded day, {self.newest}"
        if day < self.first:
            return f"before the first loaded day, {self.first}"
        return "a hole between loaded days"

    def load_commands(self, days: Sequence[dt.date]) -> list[str]:
        """The commands that load ``days``: one run per lone day, a backfill per run of days."""
        commands: list[str] = []
        ordered = sorted(days)
        start = 0
        for i in range(1, len(ordered) + 1):
            if i == len(ordered) or ordered[i] != ordered[i - 1] + dt.timedelta(days=1):
                first, last = ordered[start], ordered[i - 1]
                commands.append(
                    f"nps-loader run --date {first}"
                    if first == last
                    else f"nps-loader backfill --start {first} --end {last}"
                )
                start = i
        return commands


def loaded_days(
    warehouse: Warehouse, names: TableNames, zone: str, first: dt.date, last: dt.date
) -> LoadedDays:
    """The day loads of ``first..last`` and the cutoff, once the warehouse is known to have
    been loaded in days of ``zone``."""
    loads = names.loads
    (earliest, newest, cutoff) = warehouse.query(
        f"select min(run_date), max(run_date), max(window_end) from {loads} where {DAY_LOADS}", ()
    )[0]
    if cutoff is None:
        raise WarehouseError("nothing has been loaded yet: run nps-loader first")
    for (loaded_zone,) in warehouse.query(
        f"select reporting_timezone from {loads} "
        "where reporting_timezone is not null order by loaded_at desc limit 1",
        (),
    ):
        if loaded_zone != zone:
            raise ConfigError(
                f"the warehouse was loaded in days of {loaded_zone} but this command was asked "
                f"for days of {zone}: set --reporting-timezone / NPS_REPORTING_TIMEZONE to "
                f"{loaded_zone}"
            )
    days = warehouse.query(
        f"select distinct run_date from {loads} where {DAY_LOADS} and run_date between %s and %s",
        (first, last),
    )
    source_zones = warehouse.query(
        f"select source_timezone from {loads} where {DAY_LOADS} and source_timezone is not null "
        "order by loaded_at desc limit 1",
        (),
    )
    return LoadedDays(
        frozenset(as_date(row[0]) for row in days),
        as_date(earliest),
        as_date(newest),
        cutoff,
        str(source_zones[0][0]) if source_zones else None,
    )
