"""Reconcile's guards: refuse corrections that look like a partial or wrong read, over the
range and day by day (unless --force)."""

from __future__ import annotations

from loader.errors import LoaderError
from loader.reconcile.model import Comparison, DayReport

#: The default of --max-delete-fraction (of the range's responses).
MAX_DELETE_FRACTION = 0.05
#: The default of --max-day-delete-fraction (of one day's responses).
MAX_DAY_DELETE_FRACTION = 0.25
#: The default of --max-change-fraction: a day most of whose rows differ was read wrong (a
#: changed source zone, another table), not rewritten.
MAX_CHANGE_FRACTION = 0.5
#: The per-day fractions apply from this many rows of a kind in a day on (one delete of a day of
#: three answers is no partial read).
DAY_GUARD_FLOOR = 5


class GuardError(LoaderError):
    """``--apply`` refused: the corrections look like a partial or wrong read."""


def _days(reports: list[DayReport]) -> str:
    shown = ", ".join(str(r.day) for r in reports[:5])
    return shown + (f" and {len(reports) - 5} more" if len(reports) > 5 else "")


def guard(
    comparison: Comparison,
    max_delete_fraction: float,
    force: bool,
    max_day_delete_fraction: float = MAX_DAY_DELETE_FRACTION,
    max_change_fraction: float = MAX_CHANGE_FRACTION,
) -> None:
    """Refuse corrections that look like a partial or wrong read (unless ``force``): over the
    range and day by day."""
    if force:
        return
    span = f"{comparison.first}..{comparison.last}"
    days = sorted(comparison.days.values(), key=lambda r: r.day)
    if comparison.source_rows == 0 and comparison.warehouse_rows > 0:
        raise GuardError(
            f"reconcile refused: the source returned no rows created on {span} but the "
            f"warehouse has {comparison.warehouse_rows} (a wrong table, a wrong zone or a "
            "partial read?); nothing was written. If the source really is empty there, "
            "re-run with --force"
        )
    empty = [r for r in days if r.source_rows == 0 and r.warehouse_rows > 0]
    if empty:
        held = sum(r.warehouse_rows for r in empty)
        raise GuardError(
            f"reconcile refused: the source returned no rows created on {_days(empty)}, where "
            f"the warehouse has {held} responses (a partial read, a filtered view, a wrong "
            "zone?); nothing was written. If the source really lost those days, re-run with "
            "--force"
        )
    deletes, responses = comparison.total("deleted"), comparison.warehouse_rows
    if deletes and deletes > max_delete_fraction * responses:
        raise GuardError(
            f"reconcile refused: it would delete {deletes} of the {responses} responses of "
            f"{span} ({deletes / responses:.1%}), more than --max-delete-fraction "
            f"{max_delete_fraction:g}; nothing was written. Check the source (a partial read, "
            "a wrong table?), then re-run with --force or a larger --max-delete-fraction"
        )
    for kind, what, limit, option in (
        ("deleted", "delete", max_day_delete_fraction, "--max-day-delete-fraction"),
        ("differs", "change", max_change_fraction, "--max-change-fraction"),
    ):
        over = [
            r
            for r in days
            if len(getattr(r, kind)) >= DAY_GUARD_FLOOR
            and len(getattr(r, kind)) > limit * max(r.warehouse_rows, r.source_rows)
        ]
        if over:
            r = over[0]
            n, of = len(getattr(r, kind)), max(r.warehouse_rows, r.source_rows)
            raise GuardError(
                f"reconcile refused: it would {what} {n} of the {of} responses of {r.day} "
                f"({n / of:.1%}), more than {option} {limit:g} (days: {_days(over)}); nothing "
                "was written. A day read wrong looks like this (a partial read, a changed "
                "source zone, another table): check the source, then re-run with --force or a "
                f"larger {option}"
            )
