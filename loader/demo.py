"""A synthetic production ``nps`` table for the demo and the tests.

The generator builds an event history (inserts, updates, soft deletes, undeletes, a few invalid
scores, and rows whose transaction commits late, after their ``modified`` stamp), deterministic
for a given seed. :func:`state_as_of` replays it up to a moment, so a test can let the source
evolve between daily runs exactly as production would.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from loader.source import SQLITE_TIMESTAMP_FORMAT

# A plausible NPS answer distribution: many 9-10s, a long tail of detractors.
SCORE_WEIGHTS = [2, 1, 1, 2, 2, 4, 5, 9, 17, 22, 35]


@dataclass(frozen=True)
class Event:
    """One committed write of one row: the row's full new state and when it became visible."""

    id: int
    created_at: dt.datetime | None
    modified: dt.datetime
    deleted: bool
    score: int | None
    committed_at: dt.datetime


def _score(rng: random.Random) -> int | None:
    roll = rng.random()
    if roll < 0.004:
        return None
    if roll < 0.008:
        return rng.choice([-1, 11, 42])
    return rng.choices(range(11), weights=SCORE_WEIGHTS)[0]


def generate_events(seed: int, start: dt.date, days: int, per_day: int) -> list[Event]:
    rng = random.Random(seed)
    events: list[Event] = []
    next_id = 1
    horizon = dt.datetime.combine(start + dt.timedelta(days=days), dt.time())
    for offset in range(days):
        midnight = dt.datetime.combine(start + dt.timedelta(days=offset), dt.time())
        for _ in range(rng.randint(int(per_day * 0.7), int(per_day * 1.3))):
            row_id, next_id = next_id, next_id + 1
            if rng.random() < 0.01:
                # A long transaction stamped just before midnight that commits after 00:30, when
                # the nightly extract of that day has already run: only the lookback finds it.
                created = midnight + dt.timedelta(hours=23, minutes=45, seconds=rng.uniform(0, 899))
                lag = dt.timedelta(minutes=rng.uniform(40, 55))
            else:
                created = midnight + dt.timedelta(microseconds=rng.randrange(86_400 * 10**6))
                lag = dt.timedelta(milliseconds=rng.randrange(1000))
            score = _score(rng)
            created_at = None if rng.random() < 0.001 else created
            events.append(Event(row_id, created_at, created, False, score, created + lag))
            modified, deleted = created, False
            for _ in range(rng.choice([0] * 10 + [1, 1, 2])):  # updates, deletes, undeletes
                modified = modified + dt.timedelta(seconds=rng.randrange(60, 20 * 86_400))
                if modified >= horizon:
                    break
                roll = rng.random()
                if roll < 0.25:
                    deleted = True
                elif roll < 0.35 and deleted:
                    deleted = False
                else:
                    score = rng.choices(range(11), weights=SCORE_WEIGHTS)[0]
                lag = dt.timedelta(milliseconds=rng.randrange(1000))
                events.append(Event(row_id, created_at, modified, deleted, score, modified + lag))
    events.sort(key=lambda e: (e.committed_at, e.id))
    return events


def state_as_of(events: Iterable[Event], as_of: dt.datetime | None) -> dict[int, Event]:
    """The table's rows once every event committed up to ``as_of`` is visible."""
    state: dict[int, Event] = {}
    for event in events:
        if as_of is not None and event.committed_at > as_of:
            continue
        current = state.get(event.id)
        if current is None or event.modified >= current.modified:
            state[event.id] = event
    return state


def _ts(value: dt.datetime | None) -> str | None:
    return value.strftime(SQLITE_TIMESTAMP_FORMAT) if value is not None else None


def write_sqlite(path: Path, rows: Iterable[Event], table: str = "nps") -> int:
    """Replace ``table`` in the SQLite file with ``rows``; returns the number written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute(f'drop table if exists "{table}"')
            conn.execute(
                f'create table "{table}" (id integer primary key, created_at text, '
                "modified text, deleted integer not null default 0, score integer)"
            )
            conn.execute(f'create index "{table}_modified" on "{table}" (modified)')
            data = [
                (r.id, _ts(r.created_at), _ts(r.modified), int(r.deleted), r.score) for r in rows
            ]
            conn.executemany(f'insert into "{table}" values (?, ?, ?, ?, ?)', data)
    finally:
        conn.close()
    return len(data)
