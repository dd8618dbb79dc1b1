"""The rule that loaded windows leave no instant unread, on its own (loader/load_windows.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from loader.dates import Window
from loader.errors import ConfigError
from loader.load_windows import LoadedWindow, LoadLog, check, check_zone, widen

D = dt.date(2021, 7, 1)
H = dt.timedelta(hours=1)


def _seoul_before() -> LoadLog:
    """2021-06-30 loaded in Asia/Seoul: [06-29 14:00, 06-30 15:00) UTC."""
    return LoadLog(
        {
            D - dt.timedelta(days=1): LoadedWindow(
                D - dt.timedelta(days=1), dt.datetime(2021, 6, 29, 14), dt.datetime(2021, 6, 30, 15)
            )
        },
        "Asia/Seoul",
    )


def test_a_window_widens_to_meet_the_day_before_and_says_so() -> None:
    window, notes = widen(Window.for_day(D, H), _seoul_before())
    assert window.start == dt.datetime(2021, 6, 30, 15) and window.end == dt.datetime(2021, 7, 2)
    assert notes == ["starts at 2021-06-30 15:00 UTC to meet the loaded window of 2021-06-30"]
    check(window.start, window.end, D, _seoul_before())  # no gap left


def test_a_gap_is_refused_naming_it() -> None:
    window = Window.for_day(D, H)
    with pytest.raises(ConfigError, match=r"leave \[2021-06-30 15:00 UTC, 2021-06-30 23:00 UTC\)"):
        check(window.start, window.end, D, _seoul_before())


def test_a_re_extract_covers_the_window_it_replaces_and_a_narrower_one_is_refused() -> None:
    old = LoadedWindow(D, dt.datetime(2021, 6, 30, 14), dt.datetime(2021, 7, 1, 15))
    log = LoadLog({D: old}, "UTC")
    window, notes = widen(Window.for_day(D, H), log)
    assert (window.start, window.end) == (dt.datetime(2021, 6, 30, 14), dt.datetime(2021, 7, 2))
    assert notes and "the window it replaces" in notes[0]
    with pytest.raises(ConfigError, match="that its loaded extract read"):
        check(dt.datetime(2021, 6, 30, 23), dt.datetime(2021, 7, 2), D, log)


def test_days_never_loaded_are_no_gap_and_overlaps_are_fine() -> None:
    window = Window.for_day(D, H)
    assert widen(window, LoadLog({}, None)) == (window, [])
    after = LoadedWindow(
        D + dt.timedelta(days=1), dt.datetime(2021, 7, 1, 23), dt.datetime(2021, 7, 3)
    )
    assert widen(window, LoadLog({after.run_date: after}, "UTC"))[1] == []


def test_another_zone_is_refused_unless_asked() -> None:
    log = LoadLog({}, "UTC")
    with pytest.raises(
        ConfigError, match="loaded with reporting_timezone 'UTC' and this run asks for 'Asia/Seoul'"
    ):
        check_zone("Asia/Seoul", False, log)
    check_zone("Asia/Seoul", True, log)
    check_zone("UTC", False, log)
    check_zone(None, False, log)  # a manifest of an older loader: its zone is unknown


def test_the_load_log_is_read_while_this_process_holds_the_duckdb_file(tmp_path: Path) -> None:
    """An in-process dbt run keeps the file open read-write; peeking shares that instance."""
    import duckdb

    from loader.warehouse import raw_ddl
    from loader.warehouse.duckdb import peek_load_log

    path = str(tmp_path / "warehouse.duckdb")
    holder = duckdb.connect(path)
    try:
        for statement in raw_ddl("raw"):
            holder.execute(statement)
        holder.execute(
            "insert into raw.nps_loads values ('2021-06-30', 'x', 1, 0, 1, 1, "
            "'2021-06-29 14:00', '2021-06-30 15:00', 'v', '2021-07-01 00:00', 'Asia/Seoul', 'day', 'UTC')"
        )
        log = peek_load_log(path, "raw", D)
    finally:
        holder.close()
    assert log is not None and log.zone == "Asia/Seoul"
    assert log.windows[D - dt.timedelta(days=1)].end == dt.datetime(2021, 6, 30, 15)


def test_a_load_log_made_by_an_older_loader_is_read_without_its_newer_columns(
    tmp_path: Path,
) -> None:
    """A warehouse file whose raw.nps_loads has no ``kind`` (the loader adds it only when it
    opens the file to write): the extract's read-only peek still reads the windows and zone,
    and a reconcile's row is left out once the column exists."""
    import duckdb

    from loader.tables import NPS_LOADS, create_table
    from loader.warehouse.duckdb import peek_load_log

    path = str(tmp_path / "warehouse.duckdb")
    con = duckdb.connect(path)
    con.execute("create schema raw")
    older = tuple(c for c in NPS_LOADS if c.name not in ("kind", "source_timezone"))
    con.execute(create_table("raw.nps_loads", older))
    con.execute(
        "insert into raw.nps_loads values ('2021-06-30', 'x', 1, 0, 1, 1, "
        "'2021-06-29 14:00', '2021-06-30 15:00', 'v', '2021-07-01 00:00', 'Asia/Seoul')"
    )
    con.close()
    log = peek_load_log(path, "raw", D)
    assert log is not None and log.zone == "Asia/Seoul"
    assert log.windows[D - dt.timedelta(days=1)].end == dt.datetime(2021, 6, 30, 15)

    con = duckdb.connect(path)
    con.execute("alter table raw.nps_loads add column kind varchar(16)")
    con.execute(  # a reconcile of 06-29..07-01: its window is a created_at range, not a day's
        "insert into raw.nps_loads values ('2021-07-01', 'r', 1, 0, 1, 1, "
        "'2021-06-29 15:00', '2021-07-02 15:00', 'v', '2021-07-03 00:00', 'Asia/Seoul', 'reconcile')"
    )
    con.close()
    log = peek_load_log(path, "raw", D)
    assert log is not None and set(log.windows) == {D - dt.timedelta(days=1)}
