"""The commands that check the warehouse against the source: verify and reconcile."""

from __future__ import annotations

import sys
from typing import Any

import click

from loader.cli.commands import main, settings_from
from loader.cli.options import GroupedCommand, options
from loader.cli.output import handle_errors, n_days, report
from loader.dates import day_range, parse_date
from loader.errors import ConfigError, LoaderError
from loader.reconcile.guards import (
    MAX_CHANGE_FRACTION,
    MAX_DAY_DELETE_FRACTION,
    MAX_DELETE_FRACTION,
)


@main.command(cls=GroupedCommand)
@click.option("--date", "date_", help="One day to verify (YYYY-MM-DD)")
@click.option("--start", help="First day (YYYY-MM-DD)")
@click.option("--end", help="Last day, inclusive (YYYY-MM-DD)")
@options("source", "warehouse", "reporting", "output")
@handle_errors
def verify(date_: str | None, start: str | None, end: str | None, **kw: Any) -> None:
    """Verify nps_summary_daily against the source; exit 1 if a day differs or is not loaded.

    Compares, per day (date of created_at in the reporting zone), the source's current valid,
    not-deleted responses with the mart; a day no day load covers is reported as not loaded,
    with the command that loads it. Run it after `dbt run`.

    \b
    Example:
      nps-loader verify --start 2021-09-01 --end 2021-09-30
    """
    from loader.verify import verify_days

    if date_ and (start or end):
        raise ConfigError("verify takes --date D or --start D1 --end D2, not both")
    if date_:
        first = last = parse_date(date_, "--date")
    elif start and end:
        first, last = parse_date(start, "--start"), parse_date(end, "--end")
    else:
        raise ConfigError("verify needs --date D, or --start D1 --end D2")
    days = list(day_range(first, last))
    outcome = verify_days(settings_from(kw), days[0], days[-1])
    result: dict[str, Any] = {
        "command": "verify",
        "ok": outcome.ok,
        "start": days[0],
        "end": days[-1],
        "days": len(days),
        "mismatches": len(outcome.days),
        "not_loaded": [d.isoformat() for d in outcome.not_loaded],
        "mismatched_days": outcome.mismatches,
    }
    if outcome.ok:
        agrees = "matches" if len(days) == 1 else "match"
        report(kw, result, f"verify: {n_days(len(days))} {agrees} the source")
        return
    # The whole report in one place (stdout), every differing day, then what to run next.
    steps = outcome.next_steps()
    result["next"] = "\n".join(steps)
    parts = []
    if outcome.days:
        parts.append(f"{len(outcome.days)} of {n_days(len(days))} differ")
    if outcome.not_loaded:
        parts.append(f"{len(outcome.not_loaded)} of {n_days(len(days))} not loaded")
    summary = "verify: " + ", ".join(parts)
    report(kw, result, "\n".join([summary, *outcome.mismatches, *steps]))
    sys.exit(1)


@main.command(cls=GroupedCommand)
@click.option("--start", required=True, help="First day of created_at (YYYY-MM-DD)")
@click.option("--end", required=True, help="Last day, inclusive (YYYY-MM-DD)")
@click.option("--apply", is_flag=True, help="Write the corrections (default: a dry run)")
@click.option(
    "--max-delete-fraction",
    type=float,
    default=MAX_DELETE_FRACTION,
    show_default=True,
    help="Refuse --apply when the deletes exceed this share of the range's responses",
)
@click.option(
    "--max-day-delete-fraction",
    type=float,
    default=MAX_DAY_DELETE_FRACTION,
    show_default=True,
    help="Refuse --apply when a day's deletes exceed this share of its responses (from 5 on)",
)
@click.option(
    "--max-change-fraction",
    type=float,
    default=MAX_CHANGE_FRACTION,
    show_default=True,
    help="Refuse --apply when a day's differing rows exceed this share of it (from 5 on)",
)
@click.option(
    "--force",
    is_flag=True,
    help="Apply past the guards (too many deletes or changes, an empty source day)",
)
@click.option(
    "--fail-on-corrections",
    is_flag=True,
    help="A dry run that finds corrections exits 1 with a one-line summary (for schedulers)",
)
@options("source", "lake", "warehouse", "reporting", "output")
@handle_errors
def reconcile(
    start: str,
    end: str,
    apply: bool,
    max_delete_fraction: float,
    max_day_delete_fraction: float,
    max_change_fraction: float,
    force: bool,
    fail_on_corrections: bool,
    **kw: Any,
) -> None:
    """Repair what a cursor-based copy cannot see: hard deletes, rewritten history, missed rows.

    Compares the source's current rows created on --start..--end (days of the reporting zone)
    with the warehouse's current state, and reports per day the ids deleted from the source,
    the ids whose content differs and the ids never loaded. A dry run unless --apply, which
    writes the corrections to the lake and raw.nps (folded in by the next dbt run).

    \b
    Example:
      nps-loader reconcile --start 2021-09-01 --end 2021-09-30
      nps-loader reconcile --start 2021-09-01 --end 2021-09-30 --apply && dbt run
    """
    from loader.reconcile import GuardError, guard
    from loader.reconcile import reconcile as run_reconcile
    from loader.reconcile.report import corrections_summary, reconcile_json, reconcile_text

    first, last = parse_date(start, "--start"), parse_date(end, "--end")
    limits = (max_day_delete_fraction, max_change_fraction)
    outcome = run_reconcile(
        settings_from(kw), first, last, apply, max_delete_fraction, force, *limits
    )
    text = reconcile_text(outcome, apply)
    if not apply and outcome.comparison.corrections:
        try:
            guard(outcome.comparison, max_delete_fraction, force, *limits)
        except GuardError as exc:
            text += "\n--apply would refuse: " + str(exc).removeprefix("reconcile refused: ")
    report(kw, reconcile_json(outcome, apply), text)
    if fail_on_corrections and not apply and outcome.comparison.corrections:
        raise LoaderError(corrections_summary(outcome))  # exit 1, after the report
