"""1b. One ordinary day out of a long history: the loader's incremental run against dlt's
incremental ``sql_table`` on ``modified`` over the same window."""

from __future__ import annotations

import datetime as dt
import shutil

from bench.data import make_source_table
from bench.harness import BENCH_PY, DAY, REPEAT, Env, dlt, loader, timed
from bench.report import Report

TABLE = "nps_history"


def run(report: Report, env: Env, rows: int, per_day: int) -> None:
    days = max(1, rows // per_day)
    make_source_table(env.mariadb.admin(), TABLE, rows, days=days)
    day = DAY - dt.timedelta(days=days // 2)
    results = []
    for driver in ("connectorx", "pymysql"):
        name = f"day_{driver}"
        env.fresh(name)
        e = {**env.env("dev", name, TABLE), "NPS_SOURCE_DRIVER": driver}
        runs = [timed(lambda e=e: loader(e, "run", "--date", str(day))) for _ in range(REPEAT)]
        seconds, result = min(runs, key=lambda r: r[0])
        results.append(
            [
                f"**nps-loader run --date {day}** ({driver}) → DuckDB, whole process",
                f"{result['rows']:,}",
                f"{seconds:.2f}",
            ]
        )
    if BENCH_PY.exists():
        window = [
            "--start",
            f"{day - dt.timedelta(days=1)}T23:00:00",
            "--end",
            f"{day + dt.timedelta(days=1)}T00:00:00",
        ]
        for backend in ("pyarrow", "connectorx"):
            walls = []
            for n in range(REPEAT):
                work = env.workdir / f"dlt-day-{backend}-{n}"
                shutil.rmtree(work, ignore_errors=True)
                args = ["--url", env.mysql_url(), "--table", TABLE, "--backend", backend]
                seconds, info = timed(
                    lambda args=args, work=work: dlt(
                        env, *args, *window, "--duckdb", f"{work}.duckdb", "--workdir", str(work)
                    )
                )
                walls.append(seconds)
            results.append(
                [
                    f"dlt `sql_table` ({backend} backend) incremental on `modified`, same window → DuckDB, whole process",
                    f"{info['rows']:,}",
                    f"{min(walls):.2f}",
                ]
            )
    section = report.section(
        "1b", f"One ordinary day (~{per_day:,} changed rows of {rows:,}), best of {REPEAT}"
    )
    section.data = results
    report.table(["what", "rows", "wall seconds"], results)
