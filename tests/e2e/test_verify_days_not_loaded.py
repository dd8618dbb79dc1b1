"""verify never says "match" over a day it did not check: every day of its range is matching,
differing or not loaded, by one rule (loader/loaded_days.py) that reconcile shares: a day is
loaded when a day load covers it, and a reconcile's load never extends that."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from loader.demo import Event, state_as_of
from tests.support.commands import cli, dbt_cli, one_error_line
from tests.support.harness import Stack
from tests.support.sources import SqliteSource
from tests.support.stacks import new_duckdb_stack

D = dt.date(2021, 9, 14)


def day(n: int, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(D + dt.timedelta(days=n), dt.time(hour))


#: two answers a day on 09-14..09-19, one of 09-15 changed on 09-18
HISTORY = [
    Event(10 * n + k, day(n, 9 + k), day(n, 9 + k), False, 9 - 3 * k, day(n, 9 + k))
    for n in range(6)
    for k in range(2)
] + [Event(10, day(1, 9), day(4, 8), False, 0, day(4, 8))]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, SqliteSource]]:
    """09-14, 09-15, 09-17 loaded (09-16 is a hole; 09-18 and 09-19 come after the newest)."""
    tmp = tmp_path_factory.mktemp("verify")
    stack = new_duckdb_stack(tmp / "duckdb")
    source = SqliteSource(tmp / "source.db")
    source.write(state_as_of(HISTORY, None).values())
    for n in (0, 1, 3):
        cli(stack, source, "run", "--date", str(D + dt.timedelta(days=n)))
    dbt_cli(stack, "run")
    yield stack, source


def verify(stack: Stack, source: SqliteSource, *args: str) -> list[str]:
    result = cli(stack, source, "verify", *args, check=False)
    assert result.returncode in (0, 1), result.stderr
    return [*result.stdout.splitlines(), f"exit {result.returncode}"]


def test_days_after_the_newest_load_are_not_loaded_not_matching(
    stack: tuple[Stack, SqliteSource],
) -> None:
    lines = verify(*stack, "--start", "2021-09-17", "--end", "2021-09-19")
    assert lines[0] == "verify: 2 of 3 days not loaded"
    assert (
        "2021-09-18: not loaded (after the newest loaded day, 2021-09-17): "
        "nps-loader run --date 2021-09-18" in lines
    )
    assert any(line.startswith("2021-09-19: not loaded (after the newest") for line in lines)
    assert any("nps-loader backfill --start 2021-09-18 --end 2021-09-19" in line for line in lines)
    assert lines[-1] == "exit 1"
    one = verify(*stack, "--date", "2021-09-19")
    assert one[0] == "verify: 1 of 1 day not loaded" and one[-1] == "exit 1"


def test_a_hole_is_told_apart_and_the_advice_is_its_load_not_a_reconcile(
    stack: tuple[Stack, SqliteSource],
) -> None:
    lines = verify(*stack, "--start", "2021-09-14", "--end", "2021-09-17")
    assert lines[0] == "verify: 1 of 4 days not loaded"
    assert (
        "2021-09-16: not loaded (a hole between loaded days): nps-loader run --date 2021-09-16"
        in lines
    )
    assert not any("reconcile" in line for line in lines), lines
    assert lines[-1] == "exit 1"


def test_a_reconcile_load_moves_neither_the_loaded_days_nor_the_cutoff(
    stack: tuple[Stack, SqliteSource],
) -> None:
    """Answer 10 (of 09-15) changed on 09-18, which is not loaded: a reconcile over 09-14..09-19
    records a load whose window ends at the range's end. 09-15 still matches (the 09-18 change
    is not loaded, so not counted) and 09-18 is still not loaded."""
    st, source = stack
    before = verify(st, source, "--start", "2021-09-14", "--end", "2021-09-15")
    assert before[0] == "verify: 2 days match the source", before
    cli(st, source, "reconcile", "--start", "2021-09-14", "--end", "2021-09-19", "--apply")
    dbt_cli(st, "run")
    after = verify(st, source, "--start", "2021-09-14", "--end", "2021-09-15")
    assert after == before
    assert verify(st, source, "--date", "2021-09-18")[0] == "verify: 1 of 1 day not loaded"


def test_date_with_start_or_end_is_refused(stack: tuple[Stack, SqliteSource]) -> None:
    result = cli(
        *stack, "verify", "--date", "2021-09-14", "--start", "2021-09-15", "--end", "2021-09-16",
        check=False,
    )  # fmt: skip
    one_error_line(result, 2, "not both")


def test_the_runbook_heading_verify_cites_exists() -> None:
    from loader.verify import RUNBOOK

    operations = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    heading = RUNBOOK.split("'")[1]
    assert "## Runbook" in operations and f"**{heading}.**" in operations


def test_a_null_cursor_row_reconcile_brought_in_is_accounted_for(tmp_path: Path) -> None:
    """reconcile brings a row whose cursor is NULL in as the source holds it; verify then
    counts it instead of failing the day forever while reconcile finds nothing to correct."""
    st = new_duckdb_stack(tmp_path / "duckdb")
    source = SqliteSource(tmp_path / "source.db")
    source.write(
        [Event(1, day(0), day(0), False, 9, day(0)), Event(2, day(0), None, False, 0, day(0))]
    )
    cli(st, source, "run", "--date", str(D))
    dbt_cli(st, "run")
    failing = verify(st, source, "--date", str(D))
    assert failing[-1] == "exit 1" and any("NULL cursor" in line for line in failing)
    cli(st, source, "reconcile", "--start", str(D), "--end", str(D), "--apply")
    dbt_cli(st, "run")
    again = cli(st, source, "reconcile", "--start", str(D), "--end", str(D))
    assert "nothing to correct" in again.stdout
    assert verify(st, source, "--date", str(D)) == ["verify: 1 day matches the source", "exit 0"]
