"""``nps-loader charts``: the analysts' charts, drawn from the warehouse they describe (the
warehouse connection the loader uses for verify: DuckDB, PostgreSQL or Redshift alike), as PNG
files that ``make docs`` puts in the dbt docs site (dbt's ``asset-paths``) and the analysts'
overview shows. matplotlib comes with the ``charts`` extra, not with the loader itself.

- ``nps_daily.png``: each day's NPS with its 95% interval as a band, the trailing 28-day NPS
  over it; a small day's interval is drawn whole (its width is the point), its dot hollow;
- ``nps_monthly.png``: each month's NPS with its interval, the significant changes marked;
- ``nps_responses.png``: answers per day, the restated days and the days the monitors flag
  marked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loader.errors import ConfigError
from loader.settings import Settings
from loader.table_names import TableNames

#: (file name, alt text): the overview (models/overview.md) embeds them by these names
CHARTS = {
    "daily": (
        "nps_daily.png",
        "Daily NPS with its 95% interval band and the trailing 28-day NPS",
    ),
    "monthly": (
        "nps_monthly.png",
        "Monthly NPS with its 95% interval, significant changes marked",
    ),
    "responses": (
        "nps_responses.png",
        "Answers per day, restated days and days the monitors flag marked",
    ),
}


@dataclass(frozen=True)
class Drawn:
    paths: list[Path]
    days: int
    months: int


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ConfigError(
            "charts need matplotlib: pip install 'nps-warehouse[charts]' (make install has it)"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _floats(rows: list[tuple[Any, ...]], index: int) -> list[float | None]:
    return [None if r[index] is None else float(r[index]) for r in rows]


def draw(settings: Settings, out: Path) -> Drawn:
    """Draw the three charts of the warehouse ``settings`` name into ``out``."""
    plt = _pyplot()
    names = TableNames.of(settings)
    s = names.schema
    warehouse = settings.warehouse()
    try:
        daily = warehouse.query(
            "select response_date, responses, nps, nps_ci_low, nps_ci_high, is_small_sample "
            f"from {names.summary_daily} order by response_date",
            (),
        )
        rolling = warehouse.query(
            f"select response_date, nps_28d from {s}.nps_rolling_daily order by response_date", ()
        )
        monthly = warehouse.query(
            "select response_month, nps, nps_ci_low, nps_ci_high, change_is_significant "
            f"from {s}.nps_summary_monthly order by response_month",
            (),
        )
        restated = {
            r[0]
            for r in warehouse.query(
                f"select period from {s}.nps_restatements where grain = 'day'", ()
            )
        }
        flagged = {
            r[0]
            for r in warehouse.query(
                f"select response_date from {s}.nps_day_monitors "
                "where is_low_volume or is_unusual_nps",
                (),
            )
        }
    finally:
        warehouse.close()
    if not daily:
        raise ConfigError(f"{names.summary_daily} has no day yet: load a day and run dbt first")
    out.mkdir(parents=True, exist_ok=True)
    paths = [
        _daily(plt, daily, rolling, out / CHARTS["daily"][0]),
        _monthly(plt, monthly, out / CHARTS["monthly"][0]),
        _responses(plt, daily, restated, flagged, out / CHARTS["responses"][0]),
    ]
    return Drawn(paths, len(daily), len(monthly))


def _daily(
    plt: Any, daily: list[tuple[Any, ...]], rolling: list[tuple[Any, ...]], path: Path
) -> Path:
    days = [r[0] for r in daily]
    fig, ax = plt.subplots(figsize=(10, 4.2))
    ax.fill_between(
        days,
        _floats(daily, 3),
        _floats(daily, 4),
        step="mid",
        color="tab:blue",
        alpha=0.18,
        linewidth=0,
        label="95% interval of the day",
    )
    big = [r for r in daily if not r[5]]
    small = [r for r in daily if r[5]]
    _series(ax, big, 2, "o", ms=3, color="tab:blue", label="day's NPS")
    _series(ax, small, 2, "o", ms=4, mfc="none", color="tab:blue", label="day's NPS, small sample")
    _series(ax, rolling, 1, "-", color="tab:red", linewidth=2, label="trailing 28 days")
    ax.set_ylim(-100, 100)
    ax.set_ylabel("NPS")
    ax.set_title("Daily NPS, its 95% interval, and the trailing 28 days")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower left", fontsize=8, ncol=2)
    return _save(plt, fig, path)


def _monthly(plt: Any, monthly: list[tuple[Any, ...]], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(10, 4.2))
    months = [r[0] for r in monthly]
    nps = _floats(monthly, 1)
    low = [
        n - lo if n is not None and lo is not None else 0
        for n, lo in zip(nps, _floats(monthly, 2), strict=True)
    ]
    high = [
        hi - n if n is not None and hi is not None else 0
        for n, hi in zip(nps, _floats(monthly, 3), strict=True)
    ]
    ax.errorbar(
        months,
        nps,
        yerr=[low, high],
        fmt="o-",
        color="tab:blue",
        capsize=4,
        label="month's NPS, 95% interval",
    )
    significant = [r for r in monthly if r[4]]
    label = "significant change from the month before"
    _series(ax, significant, 1, "*", ms=14, color="tab:orange", label=label)
    ax.set_ylabel("NPS")
    ax.set_title("Monthly NPS and its 95% interval")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return _save(plt, fig, path)


def _responses(
    plt: Any,
    daily: list[tuple[Any, ...]],
    restated: set[dt.date],
    flagged: set[dt.date],
    path: Path,
) -> Path:
    fig, ax = plt.subplots(figsize=(10, 3.6))
    colours = [
        "tab:red" if r[0] in flagged else "tab:orange" if r[0] in restated else "tab:gray"
        for r in daily
    ]
    ax.bar([r[0] for r in daily], [int(r[1]) for r in daily], width=0.9, color=colours)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in ("tab:gray", "tab:orange", "tab:red")]
    ax.legend(
        handles,
        ["answers", "restated later", "flagged by nps_day_monitors"],
        fontsize=8,
        loc="upper left",
    )
    ax.set_ylabel("answers")
    ax.set_title("Answers per day")
    ax.grid(True, axis="y", alpha=0.3)
    return _save(plt, fig, path)


def _series(ax: Any, rows: list[tuple[Any, ...]], column: int, fmt: str, **style: Any) -> None:
    """Column ``column`` of ``rows`` against their first (the day or month), if any rows."""
    if rows:
        ax.plot([r[0] for r in rows], _floats(rows, column), fmt, **style)


def _save(plt: Any, fig: Any, path: Path) -> Path:
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
