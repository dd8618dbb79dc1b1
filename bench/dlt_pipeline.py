"""dlt's sql_table pipeline into DuckDB, on the backend asked for (pyarrow over pymysql, or
connectorx, which dlt's docs call its fastest): what a user would pick instead.

Runs in .venv-bench (dlt's own dependencies). Prints one JSON line: rows and seconds.
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--duckdb", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--backend", choices=["pyarrow", "connectorx"], default="pyarrow")
    parser.add_argument("--start")
    parser.add_argument("--end")
    args = parser.parse_args()
    started = time.monotonic()
    import dlt
    from dlt.sources.sql_database import sql_table

    incremental = None
    if args.start:
        import datetime as dt

        incremental = dlt.sources.incremental(
            "modified",
            initial_value=dt.datetime.fromisoformat(args.start),
            end_value=dt.datetime.fromisoformat(args.end),
        )
    source = sql_table(
        credentials=args.url,
        table=args.table,
        backend=args.backend,
        chunk_size=50_000,
        incremental=incremental,
    )
    pipeline = dlt.pipeline(
        pipeline_name="bench",
        destination=dlt.destinations.duckdb(args.duckdb),
        dataset_name="raw",
        pipelines_dir=args.workdir,
    )
    info = pipeline.run(source)
    info.raise_on_failed_jobs()
    rows = pipeline.last_trace.last_normalize_info.row_counts.get(args.table, 0)
    print(json.dumps({"rows": rows, "seconds": time.monotonic() - started}))


if __name__ == "__main__":
    main()
