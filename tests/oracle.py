"""An independent statement of what the marts must hold, computed straight from the source rows.

Deliberately shares no code with the dbt models or the loader: plain Python over the source's
final state (one row per id, as production holds it).
"""

from __future__ import annotations

import datetime as dt
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


def expected_marts(
    rows: list[tuple[int, dt.datetime | None, dt.datetime, bool, int | None]],
) -> Marts:
    """``rows`` = the source table: (id, created_at, modified, deleted, score)."""
    responses: dict[int, tuple[Any, ...]] = {}
    rejected: dict[int, str] = {}
    by_day: dict[dt.date, list[int]] = defaultdict(list)
    by_month: dict[dt.date, list[int]] = defaultdict(list)
    for row_id, created_at, modified, deleted, score in rows:
        if deleted:
            continue
        if created_at is None:
            rejected[row_id] = "created_at is null"
        elif score is None:
            rejected[row_id] = "score is null"
        elif not 0 <= score <= 10:
            rejected[row_id] = "score out of range"
        else:
            category = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
            day = created_at.date()
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
