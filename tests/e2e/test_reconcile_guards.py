"""Reconcile's guards against a partial or misconfigured read, day by day as well as over the
range: a day the source returns nothing for, a day nearly all of whose rows differ (a source
read in another zone), the source zone the day loads recorded; and a reconcile killed before
its load commits leaves nothing that a rebuild would load.

One warehouse of 12 days x 30 answers per module; each test works on a copy.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

import pytest

from loader.lake.manifest import Manifest
from tests.support.commands import cli, one_error_line
from tests.support.harness import Stack, environ
from tests.support.sources import SqliteSource, sqlite_source
from tests.support.stacks import new_duckdb_stack

FIRST = dt.date(2021, 8, 1)
DAYS = [FIRST + dt.timedelta(days=n) for n in range(12)]
RANGE = ("--start", str(DAYS[0]), "--end", str(DAYS[-1]))
HIDDEN = DAYS[6]


def _ts(day: dt.date, minute: int) -> str:
    stamp = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
    return stamp.strftime("%Y-%m-%d %H:%M:%S.%f")


ROWS = [
    (100 * n + k, _ts(day, 60 + 40 * k), _ts(day, 60 + 40 * k), 0, k % 11)
    for n, day in enumerate(DAYS)
    for k in range(30)
]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("guards-base")
    stack = new_duckdb_stack(folder / "duckdb")
    source = sqlite_source(folder / "duckdb" / "source.db", ROWS)
    for day in DAYS:
        stack.run_day(source, day)
    stack.dbt("run")
    return folder


@pytest.fixture
def loaded(base: Path, tmp_path: Path) -> tuple[Stack, SqliteSource]:
    shutil.copytree(base / "duckdb", tmp_path / "duckdb")
    return new_duckdb_stack(tmp_path / "duckdb"), SqliteSource(tmp_path / "duckdb" / "source.db")


def raw_state(stack: Stack) -> tuple[object, ...]:
    lake = Path(stack.lake) / "nps" / "reconcile"
    return (
        stack.query("select count(*), sum(id), max(_loaded_at) from raw.nps"),
        stack.query("select count(*) from raw.nps_loads"),
        sorted(str(p) for p in lake.rglob("*")) if lake.exists() else [],
    )


def test_a_day_the_source_returns_nothing_for_is_refused(
    loaded: tuple[Stack, SqliteSource],
) -> None:
    """A view that hides one day of twelve. Even with the range's delete guard lifted (30 of
    360 responses, as an operator who trusts the range would), the day's own guard refuses."""
    stack, source = loaded
    conn = sqlite3.connect(source.path)
    with conn:
        conn.execute(
            f"create view nps_partial as select * from nps where created_at not like '{HIDDEN}%'"
        )
    conn.close()
    before = raw_state(stack)
    partial = ("--source-table", "nps_partial")
    dry = cli(stack, source, "reconcile", *RANGE, *partial, "--max-delete-fraction", "1")
    assert f"--apply would refuse: the source returned no rows created on {HIDDEN}" in dry.stdout
    refused = cli(
        stack, source, "reconcile", *RANGE, *partial, "--max-delete-fraction", "1", "--apply",
        check=False,
    )  # fmt: skip
    one_error_line(
        refused, 1, f"the source returned no rows created on {HIDDEN}, where the warehouse has 30"
    )
    assert raw_state(stack) == before


def test_a_source_read_in_another_zone_than_the_loads_is_refused(
    loaded: tuple[Stack, SqliteSource],
) -> None:
    stack, source = loaded
    before = raw_state(stack)
    result = cli(
        stack, source, "reconcile", *RANGE, "--source-timezone", "Asia/Seoul", "--apply",
        check=False,
    )  # fmt: skip
    one_error_line(result, 2, "the day loads read the source's DATETIME values as UTC")
    assert raw_state(stack) == before


def test_a_day_nearly_all_of_whose_rows_differ_is_refused(
    loaded: tuple[Stack, SqliteSource],
) -> None:
    """Loads of an older loader recorded no source zone: the change-fraction guard still stops
    a reconcile that reads every row nine hours early."""
    stack, source = loaded
    import duckdb

    con = duckdb.connect(stack.env["NPS_DUCKDB_PATH"])
    con.execute("update raw.nps_loads set source_timezone = null")
    con.close()
    before = raw_state(stack)
    result = cli(
        stack, source, "reconcile", *RANGE, "--source-timezone", "Asia/Seoul", "--apply",
        "--max-delete-fraction", "1", "--max-day-delete-fraction", "1", check=False,
    )  # fmt: skip
    one_error_line(result, 1, "more than --max-change-fraction 0.5")
    assert raw_state(stack) == before


def test_a_day_losing_most_of_its_responses_is_refused(loaded: tuple[Stack, SqliteSource]) -> None:
    stack, source = loaded
    source.execute("delete from nps where id between 300 and 315")  # 16 of DAYS[3]'s 30
    result = cli(
        stack, source, "reconcile", *RANGE, "--apply", "--max-delete-fraction", "1", check=False
    )
    one_error_line(result, 1, f"it would delete 16 of the 30 responses of {DAYS[3]}")
    ok = cli(stack, source, "reconcile", *RANGE, "--apply", "--max-delete-fraction", "1",
             "--max-day-delete-fraction", "0.6")  # fmt: skip
    assert "16" in ok.stdout


def test_a_reconcile_killed_before_its_load_commits_leaves_no_manifest(
    loaded: tuple[Stack, SqliteSource], monkeypatch: pytest.MonkeyPatch
) -> None:
    from loader.reconcile import reconcile
    from loader.warehouse.duckdb import DuckDBWarehouse

    stack, source = loaded
    source.execute("delete from nps where id = 5")

    def killed(self: DuckDBWarehouse, extract: object) -> None:
        raise KeyboardInterrupt  # the process dies before the load commits

    monkeypatch.setattr(DuckDBWarehouse, "load_corrections", killed)
    with environ(stack.full_env), pytest.raises(KeyboardInterrupt):
        reconcile(stack.settings(source), DAYS[0], DAYS[-1], apply=True)
    reconciles = Path(stack.lake) / "nps" / "reconcile"
    assert list(reconciles.rglob("*.parquet")), "the parts were written before the load"
    assert not list(reconciles.rglob("_manifest.json")), (
        "nothing lists the parts: nothing loads them"
    )
    monkeypatch.undo()
    with environ(stack.full_env):
        applied = reconcile(stack.settings(source), DAYS[0], DAYS[-1], apply=True)
    assert applied.applied is not None
    (manifest,) = reconciles.rglob("_manifest.json")
    published = Manifest.from_json(manifest.read_bytes(), str(manifest))
    assert published.extract_id == applied.applied.extract_id
    assert published.source_timezone == "UTC"
