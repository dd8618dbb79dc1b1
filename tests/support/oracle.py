"""An independent statement of what the marts must hold, computed straight from the source rows.

Deliberately shares no code with the dbt models or the loader: plain Python over the source's
final state (one row per id, as production holds it).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

Counts = tuple[int, int, int, int, Decimal]  # responses, promoters, passives, detractors, nps


@dataclass(frozen=True)
class Marts:
    responses: dict[
        int, tuple[Any, ...]
    ]  # id -> (created_at, modified, score, category, date, month)
    daily: dict[dt.date, Counts]
    monthly: dict[dt.date, Counts]
    rejected: dict[int, str]  # id -> reject_reason


def nps(promoters: int, detractors: int, responses: int) -> Decimal:
    exact = Decimal(100 * (promoters - detractors)) / Decimal(responses)
    return exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _counts(scores: list[int]) -> Counts:
    promoters = sum(1 for s in scores if s >= 9)
    passives = sum(1 for s in scores if 7 <= s <= 8)
    detractors = sum(1 for s in scores if s <= 6)
    return (len(scores), promoters, passives, detractors, nps(promoters, detractors, len(scores)))


def to_utc(wall_clock: dt.datetime, zone: str) -> dt.datetime:
    """A naive wall-clock time of ``zone`` as a naive UTC instant; an ambiguous one (the
    repeated hour) as its first occurrence, as docs/design.md promises."""
    if zone == "UTC":
        return wall_clock
    aware = wall_clock.replace(tzinfo=zoneinfo.ZoneInfo(zone), fold=0)
    instant = aware.astimezone(dt.UTC)
    back = instant.astimezone(zoneinfo.ZoneInfo(zone)).replace(tzinfo=None)
    assert back == wall_clock, f"{wall_clock} does not exist in {zone}: the tests avoid it"
    return instant.replace(tzinfo=None)


def local_date(instant: dt.datetime, zone: str) -> dt.date:
    """The calendar date of a naive UTC instant on the wall clock of ``zone``."""
    return instant.replace(tzinfo=dt.UTC).astimezone(zoneinfo.ZoneInfo(zone)).date()


def expected_marts(
    rows: list[tuple[int, dt.datetime | None, dt.datetime, bool, int | None]],
    source_zone: str = "UTC",
    reporting_zone: str = "UTC",
) -> Marts:
    """``rows`` = the source table: (id, created_at, modified, deleted, score), its times
    wall-clock times of ``source_zone``; days are those of ``reporting_zone``."""
    responses: dict[int, tuple[Any, ...]] = {}
    rejected: dict[int, str] = {}
    by_day: dict[dt.date, list[int]] = defaultdict(list)
    by_month: dict[dt.date, list[int]] = defaultdict(list)
    for row_id, source_created_at, source_modified, deleted, score in rows:
        if deleted:
            continue
        created_at = source_created_at and to_utc(source_created_at, source_zone)
        modified = to_utc(source_modified, source_zone)
        if created_at is None:
            rejected[row_id] = "created_at is null"
        elif score is None:
            rejected[row_id] = "score is null"
        elif not 0 <= score <= 10:
            rejected[row_id] = "score out of range"
        else:
            category = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
            day = local_date(created_at, reporting_zone)
            month = day.replace(day=1)
            responses[row_id] = (created_at, modified, score, category, day, month)
            by_day[day].append(score)
            by_month[month].append(score)
    return Marts(
        responses=responses,
        daily={day: _counts(scores) for day, scores in by_day.items()},
        monthly={month: _counts(scores) for month, scores in by_month.items()},
        rejected=rejected,
    )
