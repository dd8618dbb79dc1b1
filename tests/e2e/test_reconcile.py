"""`nps-loader reconcile` through its command line: the dry run's report, the guards (which
refuse in one line and leave the warehouse and the lake exactly as they were), a reconcile that
finds nothing writing nothing, and what an applied one leaves for dbt: the marts corrected,
`nps_restatements` saying why, the source tests still telling a correction from a source that
broke the rule.

One warehouse is built per module (two loaded days of 40 answers); each test works on a copy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from loader.reconcile import reconcile
from tests.support.commands import cli
from tests.support.harness import Stack, environ
from tests.support.sources import SqliteSource, sqlite_source
from tests.support.stacks import new_duckdb_stack

D1, D2 = dt.date(2021, 9, 16), dt.date(2021, 9, 17)
RANGE = ("--start", str(D1), "--end", str(D2))


def _ts(day: dt.date, minute: int) -> str:
    stamp = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
    return stamp.strftime("%Y-%m-%d %H:%M:%S.%f")


#: 20 answers a day: ids 1-20 on D1, 21-40 on D2; scores cycle through 0-10
ROWS = [
    (n, _ts(day, 60 + n * 10), _ts(day, 60 + n * 10), 0, n % 11)
    for day, ids in ((D1, range(1, 21)), (D2, range(21, 41)))
    for n in ids
]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("reconcile-base")
    stack = new_duckdb_stack(folder / "duckdb")
    source = sqlite_source(folder / "duckdb" / "source.db", ROWS)
    for day in (D1, D2):
        stack.run_day(source, day)
    stack.dbt("run")
    return folder


@pytest.fixture
def loaded(base: Path, tmp_path: Path) -> tuple[Stack, SqliteSource]:
    """A private copy of the module's warehouse, lake and source."""
    shutil.copytree(base / "duckdb", tmp_path / "duckdb")
    stack = new_duckdb_stack(tmp_path / "duckdb")
    return stack, SqliteSource(tmp_path / "duckdb" / "source.db")


def fingerprint(stack: Stack) -> tuple[object, ...]:
    """Everything reconcile could write: raw.nps, raw.nps_loads and the lake's reconciles."""
    raw = stack.query("select * from raw.nps order by id, _loaded_at")
    loads = stack.query("select * from raw.nps_loads order by loaded_at")
    lake = Path(stack.lake) / "nps" / "reconcile"
    files = sorted(str(p) for p in lake.rglob("*")) if lake.exists() else []
    return hashlib.sha256(repr(raw).encode()).hexdigest(), len(loads), files


def faults(source: SqliteSource) -> None:
    """One of each: a hard delete, an update without a bump, a NULL cursor, an old insert."""
    source.execute('delete from "nps" where id = 3')
    source.execute('update "nps" set score = 10 where id = 5')  # was 5: detractor -> promoter
    source.execute('update "nps" set modified = null, score = 9 where id = 24')
    source.execute(
        'insert into "nps" values (99, ?, ?, 0, 9)', (_ts(D1, 30), _ts(D1, 30))
    )  # committed late, with a cursor of a day that already ran


def corrections_left(stack: Stack, source: SqliteSource) -> list[object]:
    """A dry run in this process (whose in-process dbt holds the DuckDB file)."""
    with environ(stack.full_env):
        return list(reconcile(stack.settings(source), D1, D2).comparison.corrections)


@pytest.mark.slow
def test_dry_run_reports_each_day_and_writes_nothing(loaded: tuple[Stack, SqliteSource]) -> None:
    stack, source = loaded
    faults(source)
    before = fingerprint(stack)
    dry = cli(stack, source, "reconcile", *RANGE)
    assert dry.returncode == 0 and not dry.stderr, dry.stderr
    lines = dry.stdout.splitlines()
    assert lines[0] == "reconcile 2021-09-16..2021-09-17: 40 source rows, 40 in the warehouse"
    assert lines[1].split() == [
        "day", "source", "warehouse", "deleted", "differs", "never_loaded", "pending", "future"
    ]  # fmt: skip
    assert lines[2].split() == ["2021-09-16", "20", "20", "1", "1", "1", "0", "0"]
    assert lines[3].split() == ["2021-09-17", "20", "20", "0", "1", "0", "0", "0"]
    assert "2021-09-16: deleted from the source: 3" in lines
    assert "2021-09-16: differ: 5 (updated without bumping the cursor)" in lines
    assert "2021-09-16: never loaded: 99" in lines
    assert "2021-09-17: differ: 24 (cursor is NULL in the source)" in lines
    assert lines[-1].startswith("dry run: 4 correction(s) not written; next: nps-loader reconcile")

    body = json.loads(cli(stack, source, "reconcile", *RANGE, "--json").stdout)
    assert body["dry_run"] is True and body["applied"] is False
    assert (body["corrections"], body["deleted"], body["differs"], body["never_loaded"]) == (
        4,
        1,
        2,
        1,
    )
    assert body["days"][0]["differs"] == [{"id": 5, "why": "updated without bumping the cursor"}]
    assert fingerprint(stack) == before


@pytest.mark.slow
def test_guards_refuse_in_one_line_and_leave_everything_as_it_was(
    loaded: tuple[Stack, SqliteSource],
) -> None:
    stack, source = loaded
    before = fingerprint(stack)
    source.execute('delete from "nps" where id in (1, 2, 3)')  # 3 of 40 = 7.5% > 5%
    refused = cli(stack, source, "reconcile", *RANGE, "--apply", check=False)
    assert refused.returncode == 1 and not refused.stdout
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith(
        "nps-loader: error: reconcile refused: it would delete 3 of the 40 responses of "
        "2021-09-16..2021-09-17 (7.5%), more than --max-delete-fraction 0.05; nothing was written"
    )
    assert fingerprint(stack) == before

    source.execute('delete from "nps"')  # a wrong table, a partial read...
    empty = cli(
        stack, source, "reconcile", *RANGE, "--apply", "--max-delete-fraction", "1", check=False
    )
    assert empty.returncode == 1 and empty.stderr.count("\n") == 1
    assert (
        "the source returned no rows created on 2021-09-16..2021-09-17 but the warehouse has 40"
        in empty.stderr
    )
    assert fingerprint(stack) == before

    zone = cli(
        stack, source, "reconcile", *RANGE, "--reporting-timezone", "Asia/Seoul", check=False
    )
    assert zone.returncode == 2 and "loaded in days of UTC" in zone.stderr
    bad = cli(
        stack, source, "reconcile", "--start", "2021-09-17", "--end", "2021-09-16", check=False
    )
    assert bad.returncode == 2 and "--end 2021-09-16 is before --start 2021-09-17" in bad.stderr
    assert fingerprint(stack) == before

    forced = cli(stack, source, "reconcile", *RANGE, "--apply", "--force", "--json")
    assert json.loads(forced.stdout)["deleted"] == 40
    stack.dbt("run")
    assert stack.query("select count(*) from analytics.fct_nps_responses") == [(0,)]


@pytest.mark.slow
def test_a_reconcile_that_finds_nothing_writes_nothing(loaded: tuple[Stack, SqliteSource]) -> None:
    stack, source = loaded
    before = fingerprint(stack)
    found = cli(stack, source, "reconcile", *RANGE, "--apply")
    assert found.stdout.strip().endswith("they match: nothing to correct")
    assert fingerprint(stack) == before


@pytest.mark.slow
def test_applied_corrections_reach_the_marts_the_restatements_and_keep_dbt_test_meaningful(
    loaded: tuple[Stack, SqliteSource],
) -> None:
    stack, source = loaded
    faults(source)
    applied = json.loads(
        cli(
            stack, source, "reconcile", *RANGE, "--apply", "--max-delete-fraction", "0.1", "--json"
        ).stdout
    )
    assert applied["applied"] is True and applied["corrections"] == 4
    assert stack.query("select kind, rows_loaded from raw.nps_loads where kind = 'reconcile'") == [
        ("reconcile", 4)
    ]
    stack.dbt("run")
    ids = {r[0] for r in stack.query("select id from analytics.fct_nps_responses")}
    assert 3 not in ids and 99 in ids and len(ids) == 40  # 40 - 1 deleted + 1 never loaded
    assert stack.query(
        "select score from analytics.fct_nps_responses where id in (5, 24) order by id"
    ) == [
        (10,),
        (9,),
    ]
    restated = stack.query(
        "select period, removed_by_reconcile, responses_added, moved_between_categories "
        "from analytics.nps_restatements where grain = 'day' order by period"
    )
    assert restated == [(D1, 1, 1, 1), (D2, 0, 0, 1)]
    # the correction of the un-bumped update holds two contents under one cursor in raw: the
    # source test tells it from a source that broke the rule, so dbt test passes
    stack.dbt("test")
    # and nothing is left to correct, before or after a re-run of both days
    assert corrections_left(stack, source) == []
    for day in (D1, D2):
        stack.run_day(source, day)
    stack.dbt("run")
    assert stack.query("select score from analytics.fct_nps_responses where id = 5") == [(10,)]
    assert corrections_left(stack, source) == []


@pytest.mark.slow
def test_one_content_per_version_still_catches_a_source_that_broke_the_rule(
    loaded: tuple[Stack, SqliteSource],
) -> None:
    """Two days' loads that read one cursor with two contents fail the source test, with or
    without a reconcile: only the source's own fix (and a re-run) clears it."""
    stack, source = loaded
    late = _ts(D1, 23 * 60 + 30)  # inside D2's 1h lookback
    source.execute('update "nps" set modified = ?, score = 1 where id = 7', (late,))
    stack.run_day(source, D1)
    source.execute('update "nps" set score = 9 where id = 7')  # no bump
    stack.run_day(source, D2)  # its lookback reads the new content under the same cursor
    stack.dbt("run")
    failed = stack.dbt("test", "--select", "source:nps_raw", expect_success=False)
    assert not failed.success
    with environ(stack.full_env):  # in-process: this process's dbt holds the DuckDB file
        reconcile(stack.settings(source), D1, D2, apply=True)
    assert not stack.dbt("test", "--select", "source:nps_raw", expect_success=False).success
    stack.run_day(source, D1)  # the day re-read: raw holds one content per version again
    assert stack.dbt("test", "--select", "source:nps_raw").success
