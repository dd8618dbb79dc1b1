"""The commands: each parses its arguments, calls the pipeline, and prints the result."""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from loader import __version__
from loader.cli.options import GroupedCommand, options
from loader.cli.output import LoaderGroup, handle_errors, n_days, report, warn
from loader.dates import day_range, parse_date
from loader.errors import ConfigError, LoaderError
from loader.reconcile.guards import (
    MAX_CHANGE_FRACTION,
    MAX_DAY_DELETE_FRACTION,
    MAX_DELETE_FRACTION,
)
from loader.settings import Settings, from_values

if TYPE_CHECKING:
    from loader.warehouse import LoadResult


@click.group(cls=LoaderGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nps-loader")
def main() -> None:
    """Copy the production nps table day by day into the warehouse.

    \b
    Example:
      nps-loader run --date 2021-09-16 --source mysql://reader@db:3306/prod --lake s3://my-lake
    """
    from loader.cli.output import log_warnings

    log_warnings()


def settings_from(kw: dict[str, Any]) -> Settings:
    """The settings of a command's options; their warnings printed, one line each."""
    settings, warnings = from_values(kw)
    for message in warnings:
        warn(message)
    return settings


@main.command(cls=GroupedCommand)
@click.option("--date", "date_", required=True, help="The day to extract (YYYY-MM-DD)")
@options("source", "lake", "lookback", "reporting", "zone_change", "output")
@handle_errors
def extract(date_: str, **kw: Any) -> None:
    """Extract one day from the source into the lake.

    \b
    Example:
      nps-loader extract --date 2021-09-16 --source sqlite:///demo/source.db
    """
    from loader import pipeline

    day = parse_date(date_, "--date")
    manifest = pipeline.extract(settings_from(kw), day)
    report(
        kw,
        {
            "command": "extract",
            "run_date": day,
            "rows": manifest.rows,
            "extract_id": manifest.extract_id,
        },
        f"extracted {day}: {manifest.rows} rows, {len(manifest.files)} file(s), extract {manifest.extract_id}",
    )


@main.command(cls=GroupedCommand)
@click.option("--date", "date_", required=True, help="The day to load (YYYY-MM-DD)")
@options("lake", "warehouse", "output")
@handle_errors
def load(date_: str, **kw: Any) -> None:
    """Load one extracted day from the lake into raw.nps (replacing that day).

    \b
    Example:
      nps-loader load --date 2021-09-16 --lake s3://my-lake --target redshift
    """
    from loader import pipeline

    day = parse_date(date_, "--date")
    result = pipeline.load(settings_from(kw), day)
    print_load(kw, "load", result)


def print_load(kw: dict[str, Any], command: str, result: Any) -> None:
    note = " (no rows: the day is empty in the source)" if result.rows == 0 else ""
    report(
        kw,
        {
            "command": command,
            "run_date": result.run_date,
            "rows": result.rows,
            "replaced_rows": result.replaced_rows,
            "extract_id": result.extract_id,
        },
        f"loaded {result.run_date}: {result.rows} rows (replacing {result.replaced_rows}){note}",
    )


@main.command(cls=GroupedCommand)
@click.option("--date", "date_", required=True, help="The day to run (YYYY-MM-DD)")
@options("source", "lake", "warehouse", "lookback", "reporting", "zone_change", "output")
@handle_errors
def run(date_: str, **kw: Any) -> None:
    """Extract one day, then load it.

    \b
    Example:
      nps-loader run --date 2021-09-16
      dbt run --vars '{run_date: 2021-09-16}'
    """
    from loader import pipeline

    day = parse_date(date_, "--date")
    settings = settings_from(kw)
    pipeline.preflight(settings, day)  # everything knowable, before anything is read or written
    result = pipeline.run(settings, day)
    print_load(kw, "run", result)


@main.command(cls=GroupedCommand)
@click.option("--start", required=True, help="First day (YYYY-MM-DD)")
@click.option("--end", required=True, help="Last day, inclusive (YYYY-MM-DD)")
@options("source", "lake", "warehouse", "lookback", "reporting", "zone_change", "output")
@handle_errors
def backfill(start: str, end: str, **kw: Any) -> None:
    """Run every day from --start to --end inclusive, oldest first.

    Stops at the first failure and says which days succeeded; re-running is safe
    (each day replaces itself).

    \b
    Example:
      nps-loader backfill --start 2021-06-01 --end 2021-09-30
      dbt run --vars '{start_date: 2021-06-01, end_date: 2021-09-30}'
    """
    from loader import pipeline

    days = list(day_range(parse_date(start, "--start"), parse_date(end, "--end")))
    settings = settings_from(kw)
    pipeline.preflight(settings, days[-1])  # a range reaching a day that has not ended, too
    rows = 0
    started = time.monotonic()

    def count(result: LoadResult) -> None:
        nonlocal rows
        rows += result.rows

    show = sys.stderr.isatty() and not kw["as_json"]
    with (
        click.progressbar(
            days,
            label="backfill",
            file=sys.stderr,
            show_pos=True,
            show_eta=True,
            item_show_func=lambda d: (
                f"{d}  {rows / max(time.monotonic() - started, 1e-9):,.0f} rows/s" if d else None
            ),
        )
        if show
        else contextlib.nullcontext(days) as bar  # no bar when stderr is not a terminal
    ):
        done = pipeline.backfill(settings, bar, on_day=count)
    seconds = time.monotonic() - started
    report(
        kw,
        {
            "command": "backfill",
            "start": days[0],
            "end": days[-1],
            "days": len(done.days),
            "rows": done.rows,
            "seconds": round(seconds, 3),
        },
        f"backfilled {n_days(len(done.days))} {days[0]}..{days[-1]}: {done.rows} rows in {seconds:.1f}s",
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


@main.command(cls=GroupedCommand)
@click.option(
    "--out", default="assets", show_default=True, help="Folder to draw into (dbt's asset-paths)"
)
@options("warehouse", "output")
@handle_errors
def charts(out: str, **kw: Any) -> None:
    """Draw the analysts' charts from the warehouse (needs the charts extra: matplotlib).

    The daily NPS with its 95% interval and the trailing 28 days, the monthly NPS with its
    interval and the significant changes, the answers per day with the restated and flagged
    days. `make docs` draws them into assets/, which the dbt docs site shows in its overview.

    \b
    Example:
      nps-loader charts --out assets && dbt docs generate
    """
    from loader.charts import draw

    drawn = draw(settings_from(kw), Path(out))
    report(
        kw,
        {"command": "charts", "paths": [str(p) for p in drawn.paths], "days": drawn.days},
        f"drew {len(drawn.paths)} charts of {n_days(drawn.days)} into {out}: "
        + ", ".join(p.name for p in drawn.paths),
    )


@main.command("demo-source", cls=GroupedCommand)
@click.option(
    "--path", "path_", default="demo/source.db", show_default=True, help="SQLite file to write"
)
@click.option("--seed", default=42, show_default=True, help="Random seed (same seed, same table)")
@click.option("--start", default="2021-06-01", show_default=True, help="First day of answers")
@click.option("--days", default=122, show_default=True, help="How many days of answers")
@click.option("--per-day", default=300, show_default=True, help="Average answers per day")
@click.option("--as-of", help="Write the table as it was at this UTC time (default: the end)")
@options("output")
@handle_errors
def demo_source(
    path_: str, seed: int, start: str, days: int, per_day: int, as_of: str | None, **kw: Any
) -> None:
    """Write a synthetic production nps table to a SQLite file.

    Months of answers with updates, soft deletes, undeletes, late-committing rows and a
    few invalid scores; deterministic for a given --seed.

    \b
    Example:
      nps-loader demo-source --path demo/source.db --seed 42
      nps-loader backfill --source sqlite:///demo/source.db --start 2021-06-01 --end 2021-09-29
    """
    from loader.demo import generate_events, state_as_of, write_sqlite

    first = parse_date(start, "--start")
    moment = None
    if as_of:
        try:
            moment = dt.datetime.fromisoformat(as_of)
        except ValueError:
            raise ConfigError(
                f"--as-of must be a time like 2021-09-16T00:30, got {as_of!r}"
            ) from None
    events = generate_events(seed, first, days, per_day)
    state = state_as_of(events, moment)
    rows = write_sqlite(Path(path_), state.values())
    undated = sum(1 for event in state.values() if event.created_at is None)
    report(
        kw,
        {
            "command": "demo-source",
            "path": path_,
            "rows": rows,
            "events": len(events),
            "null_created_at": undated,
        },
        f"wrote {rows} rows to {path_} ({len(events)} events, {first} + {n_days(days)}; "
        f"{undated} with a NULL created_at, which no day counts and reconcile does not read)",
    )
