"""The loader keeps the warehouse's reporting zone and leaves no instant between loaded days
unread: a run in another zone is refused, and the documented zone change loses nothing.

The scenario of docs/operations.md, "Changing the reporting zone": a warehouse loaded in
Asia/Seoul until 2021-06-30 switches to UTC from 2021-07-01. The last Seoul window ends at
06-30 15:00 UTC; the first UTC window would start at 06-30 23:00 UTC (midnight minus the 1h
lookback), so an answer at 07-01 03:00 KST (06-30 18:00 UTC) would be in no extract.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.commands import cli, dbt_cli, one_error_line
from tests.support.harness import Stack
from tests.support.oracle import expected_marts
from tests.support.sources import sqlite_source

SEOUL = "Asia/Seoul"
ROWS: list[tuple[object, ...]] = [
    (1, "2021-06-28 12:00:00.000000", "2021-06-28 12:00:00.000000", 0, 9),
    (2, "2021-06-29 12:00:00.000000", "2021-06-29 12:00:00.000000", 0, 0),
    (3, "2021-06-30 10:00:00.000000", "2021-06-30 10:00:00.000000", 0, 9),
    (4, "2021-06-30 18:00:00.000000", "2021-06-30 18:00:00.000000", 0, 10),  # 07-01 03:00 KST
    (5, "2021-07-01 12:00:00.000000", "2021-07-01 12:00:00.000000", 0, 7),
    (6, "2021-07-02 05:00:00.000000", "2021-07-02 05:00:00.000000", 0, 9),
]


def _warnings(result: object) -> list[str]:
    return [line for line in result.stderr.splitlines() if "warning" in line]  # type: ignore[attr-defined]


@pytest.mark.slow
def test_a_zone_change_as_documented_loses_nothing(duckdb_stack: Stack, tmp_path: Path) -> None:
    source = sqlite_source(tmp_path / "src.db", ROWS)
    stack = duckdb_stack
    stack.reporting_timezone = SEOUL
    cli(stack, source, "backfill", "--start", "2021-06-28", "--end", "2021-06-30")
    dbt_cli(stack, "run")
    stack.reporting_timezone = "UTC"
    raw_before = stack.query("select _extract_id, count(*) from raw.nps group by 1 order by 1")

    # another zone than the warehouse's is refused before the lake or the warehouse is touched
    refused = cli(stack, source, "run", "--date", "2021-07-01", check=False)
    one_error_line(refused, 2, "the warehouse was loaded with reporting_timezone 'Asia/Seoul'")
    assert not (Path(stack.lake) / "nps" / "run_date=2021-07-01").exists()

    # an extract that would leave a gap (no neighbours in its lake to widen it) is refused by
    # the load itself, under its lock, and changes nothing
    other = str(tmp_path / "other-lake")
    cli(
        stack,
        source,
        "extract",
        "--date",
        "2021-07-01",
        "--lake",
        other,
        "--change-reporting-timezone",
    )
    gap = cli(stack, source, "load", "--date", "2021-07-01", "--lake", other, check=False)
    one_error_line(
        gap,
        2,
        "would leave [2021-06-30 15:00 UTC, 2021-06-30 23:00 UTC) after the loaded "
        "window of 2021-06-30 in no loaded window",
    )
    # in a lake, the extracts of the neighbouring days tell an extract's zone
    stack.reporting_timezone = SEOUL
    lake_says = cli(stack, source, "extract", "--date", "2021-07-02", "--lake", other, check=False)
    one_error_line(
        lake_says,
        2,
        "the lake's extracts of the days around 2021-07-02 were made with "
        "reporting_timezone 'UTC' and this run asks for 'Asia/Seoul'",
    )
    # an extract in another zone, loaded separately, is refused by the load
    stack.reporting_timezone = "UTC"
    third = str(tmp_path / "third-lake")
    cli(stack, source, "extract", "--date", "2021-07-02", "--lake", third)
    seoul_load = cli(stack, source, "load", "--date", "2021-07-02", "--lake", third, check=False)
    one_error_line(seoul_load, 2, "the warehouse was loaded with reporting_timezone 'Asia/Seoul'")
    assert (
        stack.query("select _extract_id, count(*) from raw.nps group by 1 order by 1") == raw_before
    )

    # the documented steps: the first day in the new zone with --change-reporting-timezone ...
    switched = cli(stack, source, "run", "--date", "2021-07-01", "--change-reporting-timezone")
    assert _warnings(switched) == [
        "nps-loader: warning: the window of 2021-07-01 starts at 2021-06-30 15:00 UTC to meet "
        "the loaded window of 2021-06-30: no instant between loaded days goes unread"
    ]
    # ... the marts rebuilt in the new zone, then the daily loads as usual
    dbt_cli(stack, "run", "--full-refresh")
    cli(stack, source, "run", "--date", "2021-07-02")
    dbt_cli(stack, "run")
    assert stack.query("select score from analytics.fct_nps_responses where id = 4") == [(10,)]
    ok = cli(stack, source, "verify", "--start", "2021-06-28", "--end", "2021-07-02")
    assert "5 days match the source" in ok.stdout

    # re-running a Seoul day in UTC keeps what its Seoul window read
    rerun = cli(stack, source, "run", "--date", "2021-06-30")
    assert "covers [2021-06-29 14:00 UTC, 2021-06-30 15:00 UTC), the window it replaces" in (
        rerun.stderr
    )
    dbt_cli(stack, "run", "--full-refresh")
    assert stack.read_marts() == expected_marts(source.rows(), "UTC", "UTC")
    assert (
        "5 days match"
        in cli(stack, source, "verify", "--start", "2021-06-28", "--end", "2021-07-02").stdout
    )
    # and the old zone is now the other one
    stack.reporting_timezone = SEOUL
    back = cli(stack, source, "run", "--date", "2021-06-29", check=False)
    one_error_line(back, 2, "the warehouse was loaded with reporting_timezone 'UTC'")
