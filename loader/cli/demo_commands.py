"""The analysts' charts and the demo's synthetic source."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from loader.cli.commands import main, settings_from
from loader.cli.options import GroupedCommand, options
from loader.cli.output import handle_errors, n_days, report
from loader.dates import parse_date
from loader.errors import ConfigError


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
