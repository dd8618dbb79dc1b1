"""4. ``nps-loader reconcile`` over a whole range (every response of it compared with the source)
against ``dbt run --full-refresh`` on the same warehouse: seconds and peak RSS, for ranges of
more and more days of the same size (100,000 answers a day), so a range ten times longer shows
whether memory stays flat. The source (MariaDB) has the documented index on ``created_at``; 0.1%
of the range is hard-deleted and 0.1% updated without a bump before the reconcile."""

from __future__ import annotations

import datetime as dt

from bench.data import make_source_table
from bench.harness import BIN, DAY, Env, dbt_run, loader, peak
from bench.report import Report

ROWS_PER_DAY = 100_000


def run(report: Report, env: Env, day_counts: list[int], rows_per_day: int = ROWS_PER_DAY) -> None:
    rows_out = []
    for target, warehouse in (("dev", "DuckDB"), ("postgres", "PostgreSQL")):
        for days in day_counts:
            rows_out.append(_measure(env, target, warehouse, days, rows_per_day))
    _report(report, rows_out)


def _measure(env: Env, target: str, warehouse: str, days: int, rows_per_day: int) -> list[str]:
    size = days * rows_per_day
    table = f"nps_rec_{size}"
    name = f"rec_{target}_{size}"
    admin = env.mariadb.admin()
    make_source_table(admin, table, size, days=days)
    with admin.cursor() as cur:
        cur.execute(f"alter table {table} add key nps_created_at (created_at)")
    env.fresh(name)
    e = env.env(target, name, table)
    # the whole history in one extract: a day with a lookback that reaches its start
    loader(e, "run", "--date", str(DAY), "--lookback", f"{days + 1}d")
    dbt_run(e)
    first = DAY - dt.timedelta(days=days + 3)  # created_at reaches 3 days before modified
    with admin.cursor() as cur:
        cur.execute(f"select count(*) from {table} where created_at >= '{first}'")
        in_range = int(cur.fetchone()[0])
        step = 1000
        cur.execute(f"delete from {table} where id % {step} = 1")
        cur.execute(f"update {table} set score = (score + 5) % 11 where id % {step} = 2")
    admin.close()
    span = ["--start", str(first), "--end", str(DAY)]
    dry = peak([str(BIN / "nps-loader"), "reconcile", *span], e)
    applied = peak(
        [
            str(BIN / "nps-loader"),
            "reconcile",
            *span,
            "--apply",
            "--max-delete-fraction",
            "0.01",
        ],
        e,
    )
    _, incremental_wall = dbt_run(e)
    full = peak([str(BIN / "dbt"), "run", "--full-refresh"], e)  # in the project folder
    row = [
        warehouse,
        str(days + 4),
        f"{in_range:,}",
        f"{dry['seconds']:.1f}",
        f"{dry['peak_rss_mb']:.0f}",
        f"{applied['seconds']:.1f}",
        f"{applied['peak_rss_mb']:.0f}",
        f"{incremental_wall:.1f}",
        f"{full['seconds']:.1f}",
        f"{full['peak_rss_mb']:.0f}",
    ]
    with env.mariadb.admin().cursor() as cur:
        cur.execute(f"drop table {table}")
    env.fresh(name)
    return row


def _report(report: Report, rows_out: list[list[str]]) -> None:
    section = report.section(
        "4", "`nps-loader reconcile` of a whole range against `dbt run --full-refresh`"
    )
    section.data = rows_out
    report.table(
        [
            "warehouse",
            "days",
            "responses in the range",
            "reconcile dry run (s)",
            "its peak RSS (MB)",
            "reconcile --apply (s)",
            "its peak RSS (MB)",
            "then dbt run (s)",
            "dbt run --full-refresh (s)",
            "its peak RSS (MB, the dbt process)",
        ],
        rows_out,
    )
    report.line(
        "Each reconcile reads every source row of the range (one snapshot, by the created_at "
        "index) and every current response of the warehouse for it, compared one day at a "
        "time; the 0.2% of corrections are written to the lake and raw.nps. The full refresh "
        "rebuilds every model from raw.nps. The loader's own memory is what the PostgreSQL rows "
        "show; on DuckDB the warehouse runs inside the process, and its buffer cache follows "
        "the size of the tables it scans (bounded by DuckDB's memory_limit)."
    )
