"""An independent statement of what the marts must hold, computed straight from the source rows.

Deliberately shares no code with the dbt models or the loader: plain Python over the source's
final state (one row per id, as production holds it).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

import yaml

Counts = tuple[int, int, int, int, Decimal]  # responses, promoters, passives, detractors, nps
Interval = tuple[Decimal, Decimal, bool]  # nps_ci_low, nps_ci_high, is_small_sample
Change = tuple[Decimal | None, Decimal | None, bool | None]  # previous_nps, nps_change, significant
ROOT = Path(__file__).resolve().parents[2]
#: var nps_min_responses, as dbt_project.yml sets it
MIN_RESPONSES = int(
    yaml.safe_load((ROOT / "dbt_project.yml").read_text())["vars"]["nps_min_responses"]
)


@dataclass(frozen=True)
class Marts:
    responses: dict[
        int, tuple[Any, ...]
    ]  # id -> (created_at, modified, score, category, date, month)
    daily: dict[dt.date, Counts]
    monthly: dict[dt.date, Counts]
    rejected: dict[int, str]  # id -> reject_reason
    daily_intervals: dict[dt.date, Interval]
    monthly_intervals: dict[dt.date, Interval]
    monthly_changes: dict[dt.date, Change]
    # day -> (7-day counts, their interval, 28-day counts, their interval)
    rolling: dict[dt.date, tuple[Counts, Interval, Counts, Interval]]


def nps(promoters: int, detractors: int, responses: int) -> Decimal:
    exact = Decimal(100 * (promoters - detractors)) / Decimal(responses)
    return exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _adjusted_wald(c: Counts) -> tuple[Decimal, Decimal]:
    """(p' - d', var / n') of the adjusted-Wald method, as Rocks (2016) writes it."""
    responses, promoters, _, detractors, _ = c
    n = Decimal(responses) + 3
    p = (promoters + Decimal("0.75")) / n
    d = (detractors + Decimal("0.75")) / n
    return p - d, (p + d - (p - d) ** 2) / n


def interval(c: Counts, min_responses: int = MIN_RESPONSES) -> Interval:
    with localcontext() as ctx:
        ctx.prec = 50
        centre, var_n = _adjusted_wald(c)
        margin = Decimal("1.96") * var_n.sqrt()

        def bound(x: Decimal) -> Decimal:
            rounded = (100 * x).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            return min(Decimal(100), max(Decimal(-100), rounded))

        return bound(centre - margin), bound(centre + margin), c[0] < min_responses


def change(c: Counts, previous: Counts | None) -> Change:
    if previous is None:
        return None, None, None
    with localcontext() as ctx:
        ctx.prec = 50
        (c1, v1), (c2, v2) = _adjusted_wald(c), _adjusted_wald(previous)
        z = (c1 - c2) / (v1 + v2).sqrt()
    return previous[4], c[4] - previous[4], abs(z) > Decimal("1.96")


def window(daily: dict[dt.date, Counts], day: dt.date, days: int) -> Counts:
    """The counts of the ``days`` days ending on ``day``, summed, and their NPS."""
    summed = [0, 0, 0, 0]
    for offset in range(days):
        c = daily.get(day - dt.timedelta(days=offset))
        if c is not None:
            summed = [a + b for a, b in zip(summed, c[:4], strict=True)]
    responses, promoters, passives, detractors = summed
    if not responses:  # a quiet week: no NPS (the mart's is null)
        return (0, 0, 0, 0, None)  # type: ignore[return-value]
    return (responses, promoters, passives, detractors, nps(promoters, detractors, responses))


def rolling(
    daily: dict[dt.date, Counts],
) -> dict[dt.date, tuple[Counts, Interval, Counts, Interval]]:
    """Every calendar day from the first day with answers to the last whose 28-day window
    holds answers (a quiet day inside a busy stretch too)."""
    out = {}
    answered = sorted(d for d, c in daily.items() if c[0] > 0)
    if not answered:
        return out
    day = answered[0]
    while day <= answered[-1]:
        week, month = window(daily, day, 7), window(daily, day, 28)
        if month[0] > 0:
            quiet = (None, None, True)  # no interval without answers; a small sample
            out[day] = (week, interval(week) if week[0] else quiet, month, interval(month))  # type: ignore[assignment]
        day += dt.timedelta(days=1)
    return out


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
        # (a NULL cursor: reconcile brings the row in as it is)
        modified = to_utc(source_modified, source_zone) if source_modified is not None else None
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
    daily = {day: _counts(scores) for day, scores in by_day.items()}
    monthly = {month: _counts(scores) for month, scores in by_month.items()}
    months = sorted(monthly)
    return Marts(
        responses=responses,
        daily=daily,
        monthly=monthly,
        rejected=rejected,
        daily_intervals={day: interval(c) for day, c in daily.items()},
        monthly_intervals={month: interval(c) for month, c in monthly.items()},
        monthly_changes={
            month: change(monthly[month], monthly[months[i - 1]] if i else None)
            for i, month in enumerate(months)
        },
        rolling=rolling(daily),
    )
