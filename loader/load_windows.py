"""Loaded windows leave no instant unread: the rule every load keeps, and how a run keeps it.

``raw.nps_loads`` records every load's window (naive UTC instants) and reporting zone. Two
loaded days that are neighbours (D-1 and D, D and D+1) must leave no instant between them that
neither window covers, and a new extract of a day must cover the window it replaces: otherwise a
change made in the gap is in no extract, and nothing would ever say so. This can only happen
when windows change shape, i.e. when the reporting zone changes (a day of Asia/Seoul ends nine
hours before the same day of UTC) or the lookback shrinks. A day that was never loaded is no gap:
backfills in any order stay allowed.

- :func:`widen` (before an extract): the day's window grows to meet its loaded neighbours and to
  cover its own previous load, and says so;
- :func:`check` (inside the load's transaction, under its lock): a window that would still leave
  a gap is refused, and so is a reporting zone other than the one the warehouse was loaded in,
  unless the extract was made to change it (``--change-reporting-timezone``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from loader.dates import Window, as_date
from loader.errors import ConfigError


@dataclass(frozen=True)
class LoadedWindow:
    run_date: dt.date
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class LoadLog:
    """What the warehouse (or the lake) holds around one day."""

    #: the current (latest) load of each of D-1, D, D+1 that has one
    windows: dict[dt.date, LoadedWindow]
    #: the reporting zone of the newest load that recorded one (None: none did)
    zone: str | None
    #: what the log was read from, as the subject of a sentence
    origin: str = "the warehouse was loaded"

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[Sequence[Any]],
        zone: str | None,
        origin: str = "the warehouse was loaded",
    ) -> LoadLog:
        """``rows``: (run_date, window_start, window_end, loaded_at), any order."""
        latest: dict[dt.date, tuple[Any, LoadedWindow]] = {}
        for run_date, start, end, loaded_at in rows:
            day = as_date(run_date)
            if day not in latest or loaded_at > latest[day][0]:
                latest[day] = (loaded_at, LoadedWindow(day, _naive(start), _naive(end)))
        return cls({day: window for day, (_, window) in latest.items()}, zone, origin)


def _naive(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return (
            value.replace(tzinfo=None)
            if value.tzinfo is None
            else value.astimezone(dt.UTC).replace(tzinfo=None)
        )
    return dt.datetime.fromisoformat(str(value))


def _fmt(t: dt.datetime) -> str:
    return f"{t:%Y-%m-%d %H:%M} UTC"


def widen(window: Window, log: LoadLog) -> tuple[Window, list[str]]:
    """The window grown to meet the loaded neighbours of its day and to cover its own previous
    load, with one note per change."""
    day = window.run_date
    start, end, notes = window.start, window.end, []
    before, same, after = (log.windows.get(day + dt.timedelta(days=n)) for n in (-1, 0, 1))
    if before is not None and before.end < start:
        notes.append(f"starts at {_fmt(before.end)} to meet the loaded window of {before.run_date}")
        start = before.end
    if after is not None and after.start > end:
        notes.append(f"ends at {_fmt(after.start)} to meet the loaded window of {after.run_date}")
        end = after.start
    if same is not None and (same.start < start or same.end > end):
        start, end = min(start, same.start), max(end, same.end)
        notes.append(f"covers [{_fmt(same.start)}, {_fmt(same.end)}), the window it replaces")
    return replace(window, start=start, end=end), notes


def check_zone(zone: str | None, changes_zone: bool, log: LoadLog) -> None:
    """Refuse a load in another reporting zone than the warehouse's, unless asked to change it."""
    if zone is None or log.zone is None or zone == log.zone or changes_zone:
        return
    raise ConfigError(
        f"{log.origin} with reporting_timezone '{log.zone}' and this run asks for "
        f"'{zone}': mixing zones would count some responses on the wrong day and leave hours "
        f"that no day's window covers. Keep NPS_REPORTING_TIMEZONE={log.zone}, or change the "
        "zone as docs/operations.md says ('Changing the reporting zone': "
        "--change-reporting-timezone, then dbt run --full-refresh)"
    )


def check(window_start: dt.datetime, window_end: dt.datetime, day: dt.date, log: LoadLog) -> None:
    """Refuse a load of ``day`` whose window leaves an instant that no loaded window covers."""
    before, same, after = (log.windows.get(day + dt.timedelta(days=n)) for n in (-1, 0, 1))
    gaps = []
    if before is not None and before.end < window_start:
        gaps.append((before.end, window_start, f"after the loaded window of {before.run_date}"))
    if after is not None and after.start > window_end:
        gaps.append((window_end, after.start, f"before the loaded window of {after.run_date}"))
    if same is not None and same.start < window_start:
        gaps.append((same.start, window_start, "that its loaded extract read"))
    if same is not None and same.end > window_end:
        gaps.append((window_end, same.end, "that its loaded extract read"))
    if gaps:
        start, end, where = gaps[0]
        raise ConfigError(
            f"the extract of {day} reads [{_fmt(window_start)}, {_fmt(window_end)}), which would "
            f"leave [{_fmt(start)}, {_fmt(end)}) {where} in no loaded window; nothing was "
            f"loaded: re-extract the day with nps-loader run --date {day} (it widens the window "
            "to meet the loaded days)"
        )
