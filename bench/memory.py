"""2. Peak memory (and time) of ``nps-loader run`` for one large day, per driver and warehouse."""

from __future__ import annotations

from bench.data import make_source_table
from bench.harness import BIN, DAY, Env, peak
from bench.report import Report

TABLE = "nps_mem"


def run(report: Report, env: Env, day_sizes: list[int]) -> None:
    rows_out = []
    for size in day_sizes:
        make_source_table(env.mariadb.admin(), TABLE, size, days=1)
        for driver in ("connectorx", "pymysql"):
            for target, warehouse in (("dev", "DuckDB"), ("postgres", "PostgreSQL")):
                name = f"mem_{driver}_{target}"
                env.fresh(name)
                e = {**env.env(target, name, TABLE), "NPS_SOURCE_DRIVER": driver}
                info = peak([str(BIN / "nps-loader"), "run", "--date", str(DAY)], e)
                rows_out.append(
                    [
                        f"{size:,}",
                        driver,
                        warehouse,
                        f"{info['seconds']:.1f}",
                        f"{size / info['seconds']:,.0f}",
                        f"{info['peak_rss_mb']:.0f}",
                    ]
                )
        with env.mariadb.admin().cursor() as cur:
            cur.execute(f"drop table {TABLE}")
    section = report.section("2", "Peak memory of `nps-loader run` for one large day")
    section.data = rows_out
    report.table(
        ["rows in the day", "driver", "warehouse", "seconds", "rows/s", "peak RSS (MB)"], rows_out
    )
