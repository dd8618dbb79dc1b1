"""1. A full day's extract + load from MariaDB, against the raw driver fetches (the floor) and dlt
on both of its fast backends."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

from bench.data import make_source_table
from bench.harness import BENCH_PY, DAY, REPEAT, Env, best_of, dlt, loader, timed
from bench.report import Report, rate
from loader.source import FAST_BATCH_ROWS

TABLE = "nps_full"


def window_sql(table: str) -> str:
    """The loader's window for DAY (one hour of lookback), as a plain query."""
    return (
        f"select id, created_at, modified, deleted, score from {table} "
        f"where modified >= '{DAY - dt.timedelta(days=1)} 23:00:00' "
        f"and modified < '{DAY + dt.timedelta(days=1)} 00:00:00'"
    )


def raw_fetches(env: Env) -> list[tuple[str, Any]]:
    import pymysql
    import pymysql.cursors
    from pymysql.converters import conversions

    m = env.mariadb
    sql = window_sql(TABLE)

    def fetch(conv: dict[Any, Any] | None) -> int:
        kwargs: dict[str, Any] = {"conv": conv} if conv is not None else {}
        conn = pymysql.connect(
            host="127.0.0.1",
            port=m.port,
            user=m.user,
            password=m.password,
            database=m.database,
            **kwargs,
        )
        n = 0
        with conn.cursor(pymysql.cursors.SSCursor) as cur:
            cur.execute(sql)
            while batch := cur.fetchmany(50_000):
                n += len(batch)
        conn.close()
        return n

    def cli_dump() -> int:
        mariadb = shutil.which("mariadb") or shutil.which("mysql") or "mariadb"
        out = subprocess.run(
            f'{mariadb} --batch --quick -h127.0.0.1 -P{m.port} -u{m.user} {m.database} -e "{sql}" | wc -l',
            shell=True,
            env={**os.environ, "MYSQL_PWD": m.password},
            capture_output=True,
            text=True,
            check=True,
        )
        return int(out.stdout.strip()) - 1

    def connectorx_fetch() -> int:
        import connectorx as cx

        batches = cx.read_sql(
            env.mysql_url("mysql"), sql, return_type="arrow_stream", batch_size=FAST_BATCH_ROWS
        )
        return sum(b.num_rows for b in batches)

    text = {k: v for k, v in conversions.items() if not isinstance(k, int)}
    return [
        ("pymysql server-side cursor, raw fetch (default converters)", lambda: fetch(None)),
        ("pymysql server-side cursor, raw fetch (values as text)", lambda: fetch(text)),
        ("`mariadb --batch --quick` dump (≈ server/protocol limit)", cli_dump),
        ("connectorx to Arrow, fetch only", connectorx_fetch),
    ]


def best_loader_run(
    e: dict[str, str], reset: Callable[[], None], command: str
) -> tuple[float, int]:
    """The fastest of REPEAT runs of ``nps-loader <command> --date DAY``, each after ``reset``
    (not timed): (seconds, rows)."""

    def once() -> tuple[float, int]:
        reset()
        seconds, result = timed(lambda: loader(e, command, "--date", str(DAY)))
        return seconds, int(result["rows"])

    return min(once() for _ in range(REPEAT))


def run(report: Report, env: Env, rows: int) -> None:
    make_source_table(env.mariadb.admin(), TABLE, rows, days=1)
    measured: list[tuple[str, float, int]] = []
    for label, fn in raw_fetches(env):
        seconds, n = best_of(REPEAT, fn)
        measured.append((label, seconds, n))

    for target, warehouse in (("dev", "DuckDB"), ("postgres", "PostgreSQL")):
        for driver in ("pymysql", "connectorx"):
            name = f"full_{target}_{driver}"
            e = {**env.env(target, name, TABLE), "NPS_SOURCE_DRIVER": driver}

            seconds, n = best_loader_run(e, lambda name=name: env.fresh(name), "run")
            measured.append(
                (f"**nps-loader run** ({driver}) → lake → {warehouse}, whole process", seconds, n)
            )

        # the load alone, from the extract just written, into an empty warehouse each time
        seconds, n = best_loader_run(e, lambda name=name: env.drop_warehouse(name), "load")
        measured.append(
            (
                f"nps-loader load (the load alone: checksums, one transaction) → {warehouse}, whole process",
                seconds,
                n,
            )
        )

    if BENCH_PY.exists():
        for backend, driver in (("pyarrow", "pymysql"), ("connectorx", "its own MySQL client")):

            def dlt_run(backend: str = backend) -> tuple[float, int]:
                work = env.workdir / f"dlt-{backend}"
                shutil.rmtree(work, ignore_errors=True)
                args = ["--url", env.mysql_url(), "--table", TABLE, "--backend", backend]
                seconds, result = timed(
                    lambda: dlt(env, *args, "--duckdb", f"{work}.duckdb", "--workdir", str(work))
                )
                return seconds, int(result["rows"])

            seconds, n = min(dlt_run() for _ in range(REPEAT))
            measured.append(
                (
                    f"dlt `sql_table` ({backend} backend, {driver}) → DuckDB, whole process",
                    seconds,
                    n,
                )
            )

    base = measured[0][1] / measured[0][2]
    cx_rate = next(n / s for label, s, n in measured if label.startswith("connectorx"))
    # dlt at its fastest: its own docs call the connectorx backend the fastest one
    dlt_rate = max((n / s for label, s, n in measured if label.startswith("dlt")), default=None)
    section = report.section(
        "1", f"Full-history extract + load: {rows:,} rows from MariaDB (best of {REPEAT})"
    )
    section.data = [{"label": label, "rows": n, "seconds": s} for label, s, n in measured]
    report.table(
        [
            "what",
            "rows",
            "seconds",
            "rows/s",
            "x raw pymysql fetch",
            "of connectorx fetch",
            "x fastest dlt",
        ],
        [
            [
                label,
                f"{n:,}",
                f"{seconds:.2f}",
                rate(n, seconds),
                f"{n / seconds * base:.2f}x",
                f"{100 * n / seconds / cx_rate:.0f}%",
                f"{n / seconds / dlt_rate:.1f}x" if dlt_rate else "—",
            ]
            for label, seconds, n in measured
        ],
    )
