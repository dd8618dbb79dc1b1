"""The ``nps-loader`` command line. Parsing and printing only; the work is in :mod:`loader.pipeline`."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from loader import __version__
from loader.dates import day_range, parse_date, parse_lookback, parse_timezone
from loader.errors import ConfigError, LoaderError, redact
from loader.identifiers import validate_warehouse_identifier
from loader.pipeline import Settings
from loader.source import SourceSpec

if TYPE_CHECKING:
    from loader.warehouse import LoadResult

F = TypeVar("F", bound=Callable[..., Any])


_OPTIONS: dict[str, list[Callable[[F], F]]] = {
    "source": [
        click.option(
            "--source",
            envvar="NPS_SOURCE_URL",
            help="Required. mysql://user@host:3306/db (password in NPS_SOURCE_PASSWORD) or "
            "sqlite:///path [NPS_SOURCE_URL]",
        ),
        click.option(
            "--source-table",
            envvar="NPS_SOURCE_TABLE",
            default="nps",
            show_default=True,
            help="The production table [NPS_SOURCE_TABLE]",
        ),
        click.option(
            "--cursor-column",
            envvar="NPS_CURSOR_COLUMN",
            default="modified",
            show_default=True,
            help="Column that says when a row last changed [NPS_CURSOR_COLUMN]",
        ),
        click.option(
            "--deleted-column",
            envvar="NPS_DELETED_COLUMN",
            default="deleted",
            show_default=True,
            help="Soft-delete flag column, or 'none' [NPS_DELETED_COLUMN]",
        ),
        click.option(
            "--driver",
            envvar="NPS_SOURCE_DRIVER",
            default="auto",
            show_default=True,
            type=click.Choice(["auto", "pymysql", "connectorx"]),
            help="MySQL reader: connectorx (fast, Arrow-native) when installed, else pymysql "
            "[NPS_SOURCE_DRIVER]",
        ),
        click.option(
            "--source-timezone",
            envvar="NPS_SOURCE_TIMEZONE",
            default="UTC",
            show_default=True,
            help="IANA zone of the source's naive DATETIME values, e.g. Asia/Seoul "
            "(TIMESTAMP columns are read as UTC) [NPS_SOURCE_TIMEZONE]",
        ),
    ],
    "lake": [
        click.option(
            "--lake",
            envvar="NPS_LAKE_URL",
            default="./lake",
            show_default=True,
            help="s3://bucket/prefix or a folder; extracts go under <lake>/nps/ [NPS_LAKE_URL]",
        ),
    ],
    "warehouse": [
        click.option(
            "--profiles-dir",
            envvar="DBT_PROFILES_DIR",
            help="Folder holding profiles.yml, shared with dbt [DBT_PROFILES_DIR]",
        ),
        click.option(
            "--target",
            envvar="DBT_TARGET",
            help="dbt target (default: the profile's) [DBT_TARGET]",
        ),
        click.option(
            "--raw-schema",
            envvar="NPS_RAW_SCHEMA",
            default="raw",
            show_default=True,
            help="Schema of raw.nps and raw.nps_loads [NPS_RAW_SCHEMA]",
        ),
    ],
    "lookback": [
        click.option(
            "--lookback",
            envvar="NPS_LOOKBACK",
            default="1h",
            show_default=True,
            help="How far before midnight a day's extract starts: a number and a unit "
            "s, m, h or d (90m, 1h, 2d), or 0 [NPS_LOOKBACK]",
        ),
        click.option(
            "--allow-open-day",
            is_flag=True,
            help="Extract a day that has not ended yet (it would load a partial day)",
        ),
    ],
    "reporting": [
        click.option(
            "--reporting-timezone",
            envvar="NPS_REPORTING_TIMEZONE",
            default="UTC",
            show_default=True,
            help="IANA zone whose days the run dates, the marts and verify use; the same as "
            "dbt's reporting_timezone var [NPS_REPORTING_TIMEZONE]",
        ),
    ],
    "zone_change": [
        click.option(
            "--change-reporting-timezone",
            is_flag=True,
            help="Switch the warehouse to --reporting-timezone (refused otherwise when it was "
            "loaded in another zone); see docs/operations.md",
        ),
    ],
    "output": [
        click.option(
            "--json",
            "as_json",
            is_flag=True,
            help="Print one JSON line on stdout, the result or the error (for orchestrators)",
        ),
        click.option("--debug", is_flag=True, help="Show tracebacks"),
    ],
}


def _options(*groups: str) -> Callable[[F], F]:
    """The options of the named groups, and only those: each command shows what it uses."""

    def decorate(func: F) -> F:
        for group in reversed(groups):
            for option in reversed(_OPTIONS[group]):
                func = option(func)
        return func

    return decorate


def _build_settings(kw: dict[str, Any]) -> Settings:
    source = None
    if kw.get("source"):
        deleted = kw["deleted_column"]
        source = SourceSpec(
            url=kw["source"],
            table=kw["source_table"],
            cursor_column=kw["cursor_column"],
            deleted_column=None if deleted.lower() in ("", "none") else deleted,
            password=os.environ.get("NPS_SOURCE_PASSWORD") or None,
            driver=kw["driver"],
            source_timezone=parse_timezone(kw["source_timezone"], "--source-timezone"),
        )
        if source.url_has_password:
            click.echo(
                "nps-loader: warning: the source URL carries a password, which any user can "
                "read in `ps` and Airflow keeps in its rendered fields; put it in "
                "NPS_SOURCE_PASSWORD instead",
                err=True,
            )
    lake = kw.get("lake") or "./lake"
    if lake.rstrip("/").rsplit("/", 1)[-1] == "nps":
        click.echo(
            f"nps-loader: warning: --lake {lake} ends in /nps and extracts go under "
            "<lake>/nps/run_date=D/, so keys will read .../nps/nps/...; the lake is the folder "
            "or prefix that holds nps/ (e.g. s3://my-lake)",
            err=True,
        )
    return Settings(
        source=source,
        lake_url=lake,
        profiles_dir=kw.get("profiles_dir"),
        target=kw.get("target"),
        raw_schema=validate_warehouse_identifier(kw.get("raw_schema") or "raw", "--raw-schema"),
        lookback=parse_lookback(kw.get("lookback") or "1h"),
        reporting_timezone=parse_timezone(
            kw.get("reporting_timezone") or "UTC", "--reporting-timezone"
        ),
        allow_open_day=bool(kw.get("allow_open_day")),
        change_reporting_timezone=bool(kw.get("change_reporting_timezone")),
    )


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _report(kw: dict[str, Any], result: dict[str, Any], text: str) -> None:
    if kw.get("as_json"):
        click.echo(json.dumps(result, default=str, sort_keys=True))
    else:
        click.echo(text)


def _handle_errors(func: F) -> F:
    """One clear line on stderr and a non-zero exit; a traceback only with --debug. With
    --json the error is also one JSON line on stdout, where an orchestrator reads results."""
    command = func.__name__.replace("_", "-")

    def fail(kw: dict[str, Any], message: str, code: int) -> None:
        if kw.get("as_json"):
            error = {"command": command, "ok": False, "error": message, "exit_code": code}
            click.echo(json.dumps(error, sort_keys=True))
        click.echo(f"nps-loader: error: {message}", err=True)
        sys.exit(code)

    @functools.wraps(func)
    def wrapper(*args: Any, **kw: Any) -> Any:
        try:
            return func(*args, **kw)
        except LoaderError as exc:
            if kw.get("debug"):
                raise
            fail(kw, redact(str(exc)), exc.exit_code)
        except Exception as exc:  # an unexpected failure still fails loudly, in one line
            if kw.get("debug"):
                raise
            message = (
                f"unexpected {type(exc).__name__}: {redact(str(exc))} "
                "(re-run with --debug for the traceback)"
            )
            fail(kw, message, 1)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nps-loader")
def main() -> None:
    """Copy the production nps table day by day into the warehouse.

    \b
    Example:
      nps-loader run --date 2021-09-16 --source mysql://reader@db:3306/prod --lake s3://my-lake
    """
    _log_warnings()


def _log_warnings() -> None:
    """The loader's warnings (``logging.getLogger("loader")``) as one line each on stderr."""
    logger = logging.getLogger("loader")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_RedactingFormatter("nps-loader: warning: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)
        logger.propagate = False


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


@main.command()
@click.option("--date", "date_", required=True, help="The day to extract (YYYY-MM-DD)")
@_options("source", "lake", "lookback", "reporting", "zone_change", "output")
@_handle_errors
def extract(date_: str, **kw: Any) -> None:
    """Extract one day from the source into the lake.

    \b
    Example:
      nps-loader extract --date 2021-09-16 --source sqlite:///demo/source.db
    """
    from loader import pipeline

    day = parse_date(date_, "--date")
    manifest = pipeline.extract(_build_settings(kw), day)
    _report(
        kw,
        {
            "command": "extract",
            "run_date": day,
            "rows": manifest.rows,
            "extract_id": manifest.extract_id,
        },
        f"extracted {day}: {manifest.rows} rows, {len(manifest.files)} file(s), extract {manifest.extract_id}",
    )


@main.command()
@click.option("--date", "date_", required=True, help="The day to load (YYYY-MM-DD)")
@_options("lake", "warehouse", "output")
@_handle_errors
def load(date_: str, **kw: Any) -> None:
    """Load one extracted day from the lake into raw.nps (replacing that day).

    \b
    Example:
      nps-loader load --date 2021-09-16 --lake s3://my-lake --target redshift
    """
    from loader import pipeline

    day = parse_date(date_, "--date")
    result = pipeline.load(_build_settings(kw), day)
    _print_load(kw, "load", result)


def _print_load(kw: dict[str, Any], command: str, result: Any) -> None:
    note = " (no rows: the day is empty in the source)" if result.rows == 0 else ""
    _report(
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


@main.command()
@click.option("--date", "date_", required=True, help="The day to run (YYYY-MM-DD)")
@_options("source", "lake", "warehouse", "lookback", "reporting", "zone_change", "output")
@_handle_errors
def run(date_: str, **kw: Any) -> None:
    """Extract one day, then load it.

    \b
    Example:
      nps-loader run --date 2021-09-16
      dbt run --vars '{run_date: 2021-09-16}'
    """
    from loader import pipeline

    day = parse_date(date_, "--date")
    settings = _build_settings(kw)
    settings.require_source()
    settings.window(day)  # refuses a day that has not ended before anything else
    settings.check_warehouse()  # fail before extracting if the warehouse is unreachable
    result = pipeline.run(settings, day)
    _print_load(kw, "run", result)


@main.command()
@click.option("--start", required=True, help="First day (YYYY-MM-DD)")
@click.option("--end", required=True, help="Last day, inclusive (YYYY-MM-DD)")
@_options("source", "lake", "warehouse", "lookback", "reporting", "zone_change", "output")
@_handle_errors
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
    settings = _build_settings(kw)
    settings.require_source()
    settings.window(days[-1])  # refuses a range reaching a day that has not ended
    settings.check_warehouse()
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
    _report(
        kw,
        {
            "command": "backfill",
            "start": days[0],
            "end": days[-1],
            "days": len(done.days),
            "rows": done.rows,
            "seconds": round(seconds, 3),
        },
        f"backfilled {_days(len(done.days))} {days[0]}..{days[-1]}: {done.rows} rows in {seconds:.1f}s",
    )


@main.command()
@click.option("--date", "date_", help="One day to verify (YYYY-MM-DD)")
@click.option("--start", help="First day (YYYY-MM-DD)")
@click.option("--end", help="Last day, inclusive (YYYY-MM-DD)")
@_options("source", "warehouse", "reporting", "output")
@_handle_errors
def verify(date_: str | None, start: str | None, end: str | None, **kw: Any) -> None:
    """Reconcile the source with nps_summary_daily; exit 1 on a mismatch.

    Compares, per day (date of created_at in the reporting zone), the source's current valid,
    not-deleted responses with the mart. Run it after `dbt run`.

    \b
    Example:
      nps-loader verify --start 2021-09-01 --end 2021-09-30
    """
    from loader.verify import verify_days

    if date_:
        first = last = parse_date(date_, "--date")
    elif start and end:
        first, last = parse_date(start, "--start"), parse_date(end, "--end")
    else:
        raise ConfigError("verify needs --date D, or --start D1 --end D2")
    days = list(day_range(first, last))
    report = verify_days(_build_settings(kw), days[0], days[-1])
    result: dict[str, Any] = {
        "command": "verify",
        "ok": report.ok,
        "start": days[0],
        "end": days[-1],
        "days": len(days),
        "mismatches": len(report.days),
        "mismatched_days": report.mismatches,
    }
    if report.ok:
        agrees = "matches" if len(days) == 1 else "match"
        _report(kw, result, f"verify: {_days(len(days))} {agrees} the source")
        return
    # The whole report in one place (stdout), every differing day, then what to run next.
    result["next"] = report.next_step()
    summary = f"verify: {len(report.days)} of {_days(len(days))} differ"
    _report(kw, result, "\n".join([summary, *report.mismatches, result["next"]]))
    sys.exit(1)


@main.command("demo-source")
@click.option(
    "--path", "path_", default="demo/source.db", show_default=True, help="SQLite file to write"
)
@click.option("--seed", default=42, show_default=True, help="Random seed (same seed, same table)")
@click.option("--start", default="2021-06-01", show_default=True, help="First day of answers")
@click.option("--days", default=122, show_default=True, help="How many days of answers")
@click.option("--per-day", default=300, show_default=True, help="Average answers per day")
@click.option("--as-of", help="Write the table as it was at this UTC time (default: the end)")
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON result line (for orchestrators)"
)
@click.option("--debug", is_flag=True, help="Show tracebacks")
@_handle_errors
def demo_source(
    path_: str,
    seed: int,
    start: str,
    days: int,
    per_day: int,
    as_of: str | None,
    as_json: bool,
    debug: bool,
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
    rows = write_sqlite(Path(path_), state_as_of(events, moment).values())
    _report(
        {"as_json": as_json},
        {"command": "demo-source", "path": path_, "rows": rows, "events": len(events)},
        f"wrote {rows} rows to {path_} ({len(events)} events, {first} + {_days(days)})",
    )
