"""Reconcile's pure parts: the guards' arithmetic, and days handed on in order (a source that
returns rows out of created_at order is refused rather than compared twice)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from loader.errors import SourceError
from loader.reconcile import Comparison, DayReport, GuardError, guard
from loader.reconcile.day_tables import Days

D = dt.date(2021, 9, 16)
MIDNIGHTS = [dt.datetime(2021, 9, 16 + n) for n in range(6)]


def comparison(source_rows: int, warehouse_rows: int, deletes: int) -> Comparison:
    report = DayReport(D, source_rows, warehouse_rows, deleted=list(range(deletes)))
    bounds = (MIDNIGHTS[0], MIDNIGHTS[1])
    return Comparison(D, D, "UTC", bounds, {D: report}, [{}] * deletes)


def test_the_delete_guard_refuses_more_than_the_fraction_only() -> None:
    guard(comparison(95, 100, 5), 0.05, force=False)  # exactly 5%: allowed
    with pytest.raises(GuardError, match=r"delete 6 of the 100 responses .* \(6\.0%\)"):
        guard(comparison(94, 100, 6), 0.05, force=False)
    guard(comparison(94, 100, 6), 0.05, force=True)
    guard(comparison(94, 100, 6), 0.10, force=False)


def test_an_empty_source_for_a_range_the_warehouse_has_is_refused() -> None:
    with pytest.raises(GuardError, match="the source returned no rows created on"):
        guard(comparison(0, 100, 0), 1.0, force=False)
    guard(comparison(0, 0, 0), 0.05, force=False)  # nothing on either side: nothing to guard


def test_days_are_handed_on_in_order_and_a_late_row_of_a_compared_day_is_refused() -> None:
    days = Days(MIDNIGHTS)
    handed = []
    for n, stamp in enumerate([MIDNIGHTS[0], MIDNIGHTS[1], MIDNIGHTS[0], MIDNIGHTS[3]]):
        handed += [(d, parts) for d, parts in days.add(days.index(stamp) or 0, n)]
    assert handed == [(0, [0, 2]), (1, [1])]  # day 0 held until rows two days later arrived
    with pytest.raises(SourceError, match="out of created_at order"):
        list(days.add(1, 99))
    assert [d for d, _ in days.rest()] == [3]
    assert days.index(MIDNIGHTS[-1]) is None and days.index(None) is None
    stamps = pa.array([MIDNIGHTS[0], None, MIDNIGHTS[2], MIDNIGHTS[-1], dt.datetime(2021, 9, 1)])
    assert days.indexes(stamps).tolist() == [0, -1, 2, -1, -1]


def test_reconcile_orders_versions_as_dbt_does() -> None:
    """The version order is written twice, in SQL for dbt (macros/nps_versions.sql) and in the
    loader's current-state read (loader/reconcile/model.py): the same keys in the same order."""
    from pathlib import Path

    import jinja2

    from loader.reconcile.model import LOW, VERSION_KEYS

    text = (Path(__file__).resolve().parents[2] / "macros" / "nps_versions.sql").read_text()
    start = text.index("{% macro nps_version_keys")
    end = text.index("endmacro %}", start) + len("endmacro %}")
    macro = text[start:end]
    returned: list[list[str]] = []
    env = jinja2.Environment()
    env.globals.update(
        nps_low_timestamp=lambda: LOW.replace("timestamp", "{{ dbt.type_timestamp() }}"),
        **{"return": returned.append},
    )
    env.from_string(macro + "{{ nps_version_keys() }}").render()
    keys = [k.replace("{{ dbt.type_timestamp() }}", "timestamp") for k in returned[0]]
    assert keys == list(VERSION_KEYS)
