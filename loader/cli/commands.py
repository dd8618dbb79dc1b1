"""``nps-loader`` and its daily commands (extract, load, run, backfill): each parses its
arguments, calls the pipeline, and prints the result. verify and reconcile are in
:mod:`loader.cli.check_commands`, charts and demo-source in :mod:`loader.cli.demo_commands`."""

from __future__ import annotations

import contextlib
import sys
import time
from typing import TYPE_CHECKING, Any

import click

from loader import __version__
from loader.cli.options import GroupedCommand, options
from loader.cli.output import LoaderGroup, handle_errors, n_days, report, warn
from loader.dates import day_range, parse_date
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
