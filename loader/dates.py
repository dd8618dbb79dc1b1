"""Parsing of the dates, windows and durations given on the command line."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

from loader.errors import ConfigError

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DURATION = re.compile(r"^(?P<n>\d+)(?P<unit>[smhd]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_date(value: str, name: str) -> dt.date:
    """Parse ``YYYY-MM-DD``; the error names the flag so the user knows what to fix."""
    if not _DATE.match(value.strip()):
        raise ConfigError(f"{name} must be a date like 2021-09-16, got {value!r}")
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ConfigError(f"{name} is not a real date: {value!r} ({exc})") from None


def parse_lookback(value: str) -> dt.timedelta:
    """Parse a lookback such as ``1h``, ``30m``, ``2d`` or ``0``."""
    match = _DURATION.match(value.strip().lower())
    if not match:
        raise ConfigError(f"--lookback must look like 1h, 30m, 2d or 0, got {value!r}")
    return dt.timedelta(seconds=int(match["n"]) * _UNIT_SECONDS[match["unit"]])


def day_range(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    """Every day from start to end inclusive, oldest first."""
    if end < start:
        raise ConfigError(f"--end {end} is before --start {start}")
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


@dataclass(frozen=True)
class Window:
    """The half-open interval ``[start, end)`` of cursor values that an extract of ``run_date`` reads."""

    run_date: dt.date
    start: dt.datetime
    end: dt.datetime

    @classmethod
    def for_day(cls, run_date: dt.date, lookback: dt.timedelta) -> Window:
        midnight = dt.datetime.combine(run_date, dt.time())
        return cls(run_date, midnight - lookback, midnight + dt.timedelta(days=1))
