"""make bench (``python -m bench``): the loader and the dbt models measured side by side with their
limits and with what a user would pick instead, in one run, on this machine.

Starts its own MariaDB and PostgreSQL (dev/servers.py), generates the data it needs, prints one
table per benchmark and keeps them in bench/results.md and bench/results.json (a run of some
benchmarks, ``--only``, replaces their sections and keeps the others), and plots
bench/incremental.png.

Sizes come from the environment (defaults are the ones in docs/performance.md): BENCH_ROWS,
BENCH_DAY_ROWS, BENCH_MEMORY_ROWS, BENCH_DUCKDB_HISTORY, BENCH_PG_HISTORY, BENCH_CHANGES,
BENCH_RECONCILE_DAYS (days of 100,000 answers), BENCH_CERTIFIED_ROWS (answers over 30 days).
`--quick` shrinks them all and writes bench/results-quick.*. BENCH_FULL_REFRESH_MAX (answers,
default 40M) skips `dbt run --full-refresh` on larger histories (at 100M answers it would take
DuckDB about 12 minutes; the first build is measured at every size).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bench import certified, extract_load, incremental, memory, one_day, reconcile
from bench.harness import ROOT, Env
from bench.report import ORDER, Report
from dev.servers import mariadb_server, postgres_server


def sizes(name: str, default: str, quick: str, is_quick: bool) -> list[int]:
    return [int(float(x)) for x in os.environ.get(name, quick if is_quick else default).split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the harness")
    parser.add_argument(
        "--only", default=",".join(ORDER), help="which benchmarks, comma separated (1,1b,2,3,4,5,6)"
    )
    args = parser.parse_args()
    q = args.quick
    only = set(args.only.split(","))
    unknown = only - set(ORDER)
    if unknown:
        parser.error(
            f"unknown benchmark {', '.join(sorted(unknown))} (choose from {', '.join(ORDER)})"
        )
    rows = sizes("BENCH_ROWS", "2000000", "100000", q)[0]
    day_rows = sizes("BENCH_DAY_ROWS", "5000", "5000", q)[0]
    suffix = "-quick" if q else ""
    report = Report(
        ROOT / "bench" / f"results{suffix}.md", ROOT / "bench" / f"results{suffix}.json"
    )
    with (
        tempfile.TemporaryDirectory(prefix="nps-bench-") as tmp,
        mariadb_server() as m,
        postgres_server() as pg,
    ):
        env = Env(Path(tmp), m, pg)
        if "1" in only:
            extract_load.run(report, env, rows)
        if "1b" in only:
            one_day.run(report, env, rows, day_rows)
        if "2" in only:
            memory.run(
                report, env, sizes("BENCH_MEMORY_ROWS", "2000000,8000000", "100000,200000", q)
            )
        if "3" in only:
            incremental.run(
                report,
                env,
                sizes(
                    "BENCH_DUCKDB_HISTORY",
                    "1000000,10000000,30000000,100000000",
                    "100000,300000",
                    q,
                ),
                sizes("BENCH_PG_HISTORY", "1000000,10000000", "100000,300000", q),
                sizes("BENCH_CHANGES", "10000", "2000", q)[0],
                ROOT / "bench" / f"incremental{suffix}.png",
            )
        if "6" in only:
            incremental.run_redshift(
                report,
                env,
                sizes("BENCH_REDSHIFT_HISTORY", "1000000,10000000", "100000,300000", q),
                sizes("BENCH_CHANGES", "10000", "2000", q)[0],
            )
        if "4" in only:
            reconcile.run(
                report,
                env,
                sizes("BENCH_RECONCILE_DAYS", "3,30", "3,10", q),
                10_000 if q else reconcile.ROWS_PER_DAY,
            )
        if "5" in only:
            certified.run(
                report, env, sizes("BENCH_CERTIFIED_ROWS", "1200000,12000000", "30000,120000", q)
            )
    report.save()


if __name__ == "__main__":
    main()
