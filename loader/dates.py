"""Dates, time zones, windows and durations: what the command line says, as instants.

Every instant the loader keeps (raw ``created_at``/``modified``, a manifest's window, the
``raw.nps_loads`` audit) is naive UTC. Two zones turn days into instants:

- the *reporting* zone (``--reporting-timezone`` / ``NPS_REPORTING_TIMEZONE``, the dbt var
  ``reporting_timezone``) says where a day starts: run date D is ``[D 00:00, D+1 00:00)`` there;
- the *source* zone (``--source-timezone`` / ``NPS_SOURCE_TIMEZONE``) says what the source's
  naive DATETIME values mean. They are converted to UTC when extracted.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from loader.errors import ConfigError

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: The days a run date may be: a window reaches a day (plus the lookback) before and after it,
#: so the ends of the calendar are refused rather than overflowing half-way through a command.
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(9998, 12, 31)
_DURATION = re.compile(r"(?P<n>\d{1,9})(?P<unit>[smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
UTC = "UTC"
#: A window starts at most this long before its day (a longer lookback re-reads weeks each day).
MAX_LOOKBACK = dt.timedelta(days=31)


def utc_now() -> dt.datetime:
    """Now, as the naive UTC datetime every instant of the loader is."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def parse_date(value: str, name: str) -> dt.date:
    """Parse ``YYYY-MM-DD``; the error names the flag so the user knows what to fix."""
    if not _DATE.fullmatch(value.strip()):
        raise ConfigError(f"{name} must be a date like 2021-09-16, got {value!r}")
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ConfigError(f"{name} is not a real date: {value!r} ({exc})") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ConfigError(f"{name} must be between {FIRST_DAY} and {LAST_DAY}, got {value!r}")
    return day


def parse_lookback(value: str) -> dt.timedelta:
    """Parse a lookback such as ``1h``, ``30m``, ``90s``, ``2d`` or ``0``: a unit is required."""
    text = value.strip().lower()
    if text == "0":
        return dt.timedelta(0)
    match = _DURATION.fullmatch(text)
    if not match:
        hint = f" (did you mean {text}m or {text}s?)" if text.isdigit() else ""
        raise ConfigError(
            f"--lookback must be a number with a unit: s, m, h or d (1h, 30m, 2d) or 0, "
            f"got {value!r}{hint}"
        )
    lookback = dt.timedelta(seconds=int(match["n"]) * _UNIT_SECONDS[match["unit"]])
    if lookback > MAX_LOOKBACK:
        raise ConfigError(f"--lookback must be at most {MAX_LOOKBACK.days}d, got {value!r}")
    return lookback


def parse_timezone(value: str, name: str) -> str:
    """An IANA zone name (``Asia/Seoul``, ``America/New_York``, ``UTC``), checked against tzdata."""
    text = value.strip()
    if text.upper() in ("UTC", "Z", "ETC/UTC"):
        return UTC
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{name} must be an IANA time zone such as UTC, Asia/Seoul or America/New_York, "
            f"got {value!r}"
        ) from None
    return text


def as_date(value: Any) -> dt.date:
    """A date from a driver's date, datetime or ISO text."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def runs_of_days(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Days as runs of consecutive days, (first, last) each, oldest first."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] + dt.timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def day_range(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    """Every day from start to end inclusive, oldest first."""
    if end < start:
        raise ConfigError(f"--end {end} is before --start {start}")
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


def local_midnight_utc(day: dt.date, zone: str) -> dt.datetime:
    """The instant (naive UTC) at which ``day`` starts in ``zone``."""
    local = dt.datetime.combine(day, dt.time(), tzinfo=zoneinfo.ZoneInfo(zone))
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def utc_to_local(instant: dt.datetime, zone: str) -> dt.datetime:
    """A naive UTC instant as the naive wall-clock time of ``zone``."""
    return instant.replace(tzinfo=dt.UTC).astimezone(zoneinfo.ZoneInfo(zone)).replace(tzinfo=None)


def local_upper_bound(instant: dt.datetime, zone: str) -> dt.datetime:
    """The smallest wall-clock time of ``zone`` such that every wall-clock value before it
    means an instant before ``instant``, as the loader reads wall-clock values (an ambiguous one
    as its first occurrence). Inside a repeated hour the wall clock of ``instant`` is pushed to
    the end of the repetition, so the window's upper edge never drops a row."""
    aware = instant.replace(tzinfo=dt.UTC).astimezone(zoneinfo.ZoneInfo(zone))
    naive = aware.replace(tzinfo=None)
    if aware.fold:
        first, second = aware.replace(fold=0).utcoffset(), aware.utcoffset()
        assert first is not None and second is not None
        naive += first - second
    return naive


def wall_clock_bounds(
    start: dt.datetime, end: dt.datetime, zone: str
) -> tuple[dt.datetime, dt.datetime]:
    """Naive UTC ``[start, end)`` as wall-clock bounds of ``zone`` (for naive DATETIME values)."""
    if zone == UTC:
        return start, end
    return utc_to_local(start, zone), local_upper_bound(end, zone)


@dataclass(frozen=True)
class Window:
    """The instants ``[start, end)`` (naive UTC) whose changes an extract of ``run_date`` reads:
    the reporting day ``run_date`` in ``zone``, starting ``lookback`` early."""

    run_date: dt.date
    start: dt.datetime
    end: dt.datetime
    zone: str = UTC

    @classmethod
    def for_day(cls, run_date: dt.date, lookback: dt.timedelta, zone: str = UTC) -> Window:
        start = local_midnight_utc(run_date, zone) - lookback
        end = local_midnight_utc(run_date + dt.timedelta(days=1), zone)
        return cls(run_date, start, end, zone)

    def is_closed(self, now: dt.datetime) -> bool:
        """True once the day has ended (``now`` is naive UTC)."""
        return now >= self.end
