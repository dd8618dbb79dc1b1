"""5. ``nps-loader verify`` and ``nps-loader reconcile`` (dry run) of a whole 30-day range by
fingerprint, against ``dbt run --full-refresh`` of the same warehouse: seconds, share of the full
refresh, and peak RSS, on a clean range and with two damaged days (10 hard deletes on one day,
10 updates without a bump on another). Every day is loaded by its own day load (a backfill);
the source (MariaDB) has the documented index on ``created_at``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bench.data import make_source_table
from bench.harness import BIN, DAY, Env, dbt_run, loader, peak
from bench.report import Report

DAYS = 30


def measured(cmd: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Like ``peak``, but a command that reports a difference (exit 1) is measured too."""
    return peak(cmd, env, ok=(0, 1))


def run(report: Report, env: Env, sizes: list[int]) -> None:
    rows_out = []
    for target, warehouse in (("dev", "DuckDB"), ("postgres", "PostgreSQL")):
        for size in sizes:
            rows_out.append(_measure(env, target, warehouse, size))
            print(" | ".join(rows_out[-1]), flush=True)
    _report(report, rows_out)


def _measure(env: Env, target: str, warehouse: str, size: int) -> list[str]:
    table, name = f"nps_cert_{size}", f"cert_{target}_{size}"
    admin = env.mariadb.admin()
    make_source_table(admin, table, size, days=DAYS)
    with admin.cursor() as cur:
        cur.execute(f"alter table {table} add key nps_created_at (created_at)")
    env.fresh(name)
    e = env.env(target, name, table)
    first = DAY - dt.timedelta(days=DAYS - 1)
    loader(e, "backfill", "--start", str(first), "--end", str(DAY))
    dbt_run(e)
    full = peak([str(BIN / "dbt"), "run", "--full-refresh"], e)
    span = ["--start", str(first), "--end", str(DAY)]
    verify_clean = measured([str(BIN / "nps-loader"), "verify", *span], e)
    dry_clean = measured([str(BIN / "nps-loader"), "reconcile", *span], e)
    with admin.cursor() as cur:
        hit = [first + dt.timedelta(days=5), first + dt.timedelta(days=20)]
        cur.execute(
            f"delete from {table} where created_at >= '{hit[0]}' and created_at < "
            f"'{hit[0] + dt.timedelta(days=1)}' and id % 101 = 3 limit 10"
        )
        cur.execute(
            f"update {table} set score = (score + 5) % 11 where created_at >= '{hit[1]}' and "
            f"created_at < '{hit[1] + dt.timedelta(days=1)}' and id % 101 = 5 limit 10"
        )
    admin.commit()
    dry_damaged = measured([str(BIN / "nps-loader"), "reconcile", *span], e)
    verify_damaged = measured([str(BIN / "nps-loader"), "verify", *span], e)
    with env.mariadb.admin().cursor() as cur:
        cur.execute(f"drop table {table}")
    env.fresh(name)

    def share(m: dict[str, Any]) -> str:
        return f"{m['seconds']:.1f} ({100 * m['seconds'] / full['seconds']:.0f}%)"

    return [
        warehouse,
        f"{size:,}",
        f"{full['seconds']:.1f}",
        share(verify_clean),
        share(dry_clean),
        share(dry_damaged),
        share(verify_damaged),
        " / ".join(
            f"{m['peak_rss_mb']:.0f}"
            for m in (verify_clean, dry_clean, dry_damaged, verify_damaged)
        ),
    ]


def _report(report: Report, rows_out: list[list[str]]) -> None:
    section = report.section(
        "5", "`verify` and `reconcile` by fingerprint against `dbt run --full-refresh` (30 days)"
    )
    section.data = rows_out
    report.table(
        [
            "warehouse",
            "responses",
            "dbt run --full-refresh (s)",
            "verify, clean (s, share)",
            "reconcile dry run, clean (s, share)",
            "reconcile dry run, 2 damaged days (s, share)",
            "verify, 2 damaged days (s, share)",
            "peak RSS of each, in that order (MB)",
        ],
        rows_out,
    )
    report.line(
        "A clean day costs one aggregate query on each side (count and the sum of a 60-bit MD5 "
        "prefix per row, grouped by day); a damaged day is read row by row (two Arrow tables "
        "joined on id). On "
        "DuckDB the warehouse runs inside the loader's process, so its RSS includes DuckDB's "
        "buffer cache of the scanned current state."
    )
