"""make bench: the loader and the dbt models measured side by side with their limits and with
what a user would pick instead, in one run, on this machine.

Starts its own MariaDB and PostgreSQL (the test harness's), generates the data it needs, prints
one table per benchmark and writes them to bench/results.md (and bench/results.json, and the
plot bench/incremental.png).

Sizes come from the environment (defaults are the issue's): BENCH_ROWS, BENCH_DAY_ROWS,
BENCH_MEMORY_ROWS, BENCH_DUCKDB_HISTORY, BENCH_PG_HISTORY, BENCH_CHANGES. `--quick` shrinks them all.
BENCH_FULL_REFRESH_MAX (answers, default 40M) skips `dbt run --full-refresh` on larger histories
(at 100M answers it would take DuckDB about 12 minutes; the first build is measured at every size).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.data import make_source_table  # noqa: E402
from loader.source import FAST_BATCH_ROWS  # noqa: E402
from tests.support.servers import MariaDB, Postgres, mariadb_server, postgres_server  # noqa: E402

BIN = ROOT / ".venv" / "bin"
BENCH_PY = ROOT / ".venv-bench" / "bin" / "python"
DAY = dt.date(2021, 6, 1)
OUT: list[str] = []
RESULTS: dict[str, Any] = {}


def sizes(name: str, default: str, quick: str, is_quick: bool) -> list[int]:
    return [int(float(x)) for x in os.environ.get(name, quick if is_quick else default).split(",")]


def emit(line: str = "") -> None:
    print(line, flush=True)
    OUT.append(line)


def table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    emit(f"\n### {title}\n")
    emit("| " + " | ".join(header) + " |")
    emit("|" + "---|" * len(header))
    for row in rows:
        emit("| " + " | ".join(str(c) for c in row) + " |")


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}"


class Env:
    """Profiles, lake and warehouse files for loader and dbt subprocesses."""

    def __init__(self, workdir: Path, mariadb: MariaDB, pg: Postgres) -> None:
        self.workdir = workdir
        self.mariadb = mariadb
        self.pg = pg
        (workdir / "profiles").mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "profiles.yml.example", workdir / "profiles" / "profiles.yml")

    def env(self, target: str, name: str, table: str = "nps") -> dict[str, str]:
        base = {
            **os.environ,
            "DBT_PROFILES_DIR": str(self.workdir / "profiles"),
            "DBT_TARGET": target,
            "NPS_SOURCE_URL": self.mariadb.url(),
            "NPS_SOURCE_PASSWORD": self.mariadb.password,
            "NPS_SOURCE_TABLE": table,
            "NPS_LAKE_URL": str(self.workdir / f"lake-{name}"),
            "NPS_DUCKDB_PATH": str(self.workdir / f"{name}.duckdb"),
            "NPS_RAW_SCHEMA": f"raw_{name}",
            "DBT_TARGET_PATH": str(self.workdir / f"target-{name}"),
            "DBT_LOG_PATH": str(self.workdir / "logs"),
        }
        base.update(self.pg.env(f"analytics_{name}"))
        return base

    def drop_warehouse(self, name: str) -> None:
        """The warehouse side of ``name`` only (its lake stays)."""
        for path in (self.workdir / f"{name}.duckdb", self.workdir / f"{name}.duckdb.wal"):
            path.unlink(missing_ok=True)
        pg_sql(self.pg, f"drop schema if exists raw_{name} cascade")

    def fresh(self, name: str) -> None:
        for path in (self.workdir / f"{name}.duckdb", self.workdir / f"{name}.duckdb.wal"):
            path.unlink(missing_ok=True)
        shutil.rmtree(self.workdir / f"lake-{name}", ignore_errors=True)
        pg_sql(
            self.pg,
            f"drop schema if exists raw_{name} cascade; drop schema if exists analytics_{name} cascade",
        )


def pg_sql(pg: Postgres, sql: str) -> list[tuple[Any, ...]]:
    import psycopg2

    conn = psycopg2.connect(
        host="127.0.0.1", port=pg.port, user=pg.user, password=pg.password, dbname=pg.database
    )
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall()) if cur.description else []
    finally:
        conn.close()


#: Section 1 reports the best of this many runs of each row (the machine is a shared VM).
REPEAT = 3


def best_of(n: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    return min((timed(fn) for _ in range(n)), key=lambda r: r[0])


INT_TABLES = ("int_nps_responses_current", "int_nps_daily_counts")


def pg_vacuum(pg: Postgres, tables: list[str]) -> None:
    """``vacuum analyze`` (outside a transaction, as VACUUM requires), as autovacuum would."""
    import psycopg2

    conn = psycopg2.connect(
        host="127.0.0.1", port=pg.port, user=pg.user, password=pg.password, dbname=pg.database
    )
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for table in tables:
                cur.execute(f"vacuum analyze {table}")
    finally:
        conn.close()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.monotonic()
    result = fn()
    return time.monotonic() - started, result


def run_checked(cmd: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    return result.stdout


def peak(cmd: list[str], env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "peak_rss.py"), *cmd],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    info = json.loads(out.stdout.strip().splitlines()[-1])
    if info["status"] != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr[-2000:]}")
    return dict(info)


# --- 1. full-history extract + load ------------------------------------------------------------


def window_sql(table: str) -> str:
    return (
        f"select id, created_at, modified, deleted, score from {table} "
        f"where modified >= '{DAY - dt.timedelta(days=1)} 23:00:00' and modified < '{DAY + dt.timedelta(days=1)} 00:00:00'"
    )


def bench_extract_load(env: Env, rows: int) -> None:
    import pymysql
    import pymysql.cursors
    from pymysql.converters import conversions

    m = env.mariadb
    make_source_table(m.admin(), "nps_full", rows, days=1)
    sql = window_sql("nps_full")

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
        env_ = {**os.environ, "MYSQL_PWD": m.password}
        out = subprocess.run(
            f'{mariadb} --batch --quick -h127.0.0.1 -P{m.port} -u{m.user} {m.database} -e "{sql}" | wc -l',
            shell=True,
            env=env_,
            capture_output=True,
            text=True,
            check=True,
        )
        return int(out.stdout.strip()) - 1

    def connectorx_fetch() -> int:
        import connectorx as cx

        url = f"mysql://{m.user}:{m.password}@127.0.0.1:{m.port}/{m.database}"
        return sum(
            b.num_rows
            for b in cx.read_sql(url, sql, return_type="arrow_stream", batch_size=FAST_BATCH_ROWS)
        )

    measured: list[tuple[str, float, int]] = []
    for label, fn in [
        ("pymysql server-side cursor, raw fetch (default converters)", lambda: fetch(None)),
        (
            "pymysql server-side cursor, raw fetch (values as text)",
            lambda: fetch({k: v for k, v in conversions.items() if not isinstance(k, int)}),
        ),
        ("`mariadb --batch --quick` dump (≈ server/protocol limit)", cli_dump),
        ("connectorx to Arrow, fetch only", connectorx_fetch),
    ]:
        seconds, n = best_of(REPEAT, fn)
        measured.append((label, seconds, n))

    for target in ("dev", "postgres"):
        for driver in ("pymysql", "connectorx"):
            name = f"full_{target}_{driver}"
            e = {**env.env(target, name, "nps_full"), "NPS_SOURCE_DRIVER": driver}

            def run(e: dict[str, str] = e, name: str = name) -> str:
                env.fresh(name)  # not timed
                started = time.monotonic()
                out = run_checked([str(BIN / "nps-loader"), "run", "--date", str(DAY), "--json"], e)
                return f"{time.monotonic() - started} {out}"

            seconds, out = min(
                (float(t), o) for t, o in (run().split(" ", 1) for _ in range(REPEAT))
            )
            warehouse = "DuckDB" if target == "dev" else "PostgreSQL"
            measured.append(
                (
                    f"**nps-loader run** ({driver}) → lake → {warehouse}, whole process",
                    seconds,
                    json.loads(out)["rows"],
                )
            )

        # the load alone, from the extract just written, into an empty warehouse each time
        def load(e: dict[str, str] = e, name: str = name) -> str:
            env.drop_warehouse(name)  # not timed
            started = time.monotonic()
            out = run_checked([str(BIN / "nps-loader"), "load", "--date", str(DAY), "--json"], e)
            return f"{time.monotonic() - started} {out}"

        seconds, out = min((float(t), o) for t, o in (load().split(" ", 1) for _ in range(REPEAT)))
        measured.append(
            (
                f"nps-loader load (the load alone: checksums, one transaction) → {warehouse}, whole process",
                seconds,
                json.loads(out)["rows"],
            )
        )

    if BENCH_PY.exists():
        e = env.env("dev", "dlt")
        duck = env.workdir / "dlt_full.duckdb"
        duck.unlink(missing_ok=True)
        url = f"mysql+pymysql://{m.user}:{m.password}@127.0.0.1:{m.port}/{m.database}"
        seconds, out = timed(
            lambda: run_checked(
                [
                    str(BENCH_PY),
                    str(ROOT / "bench" / "dlt_pipeline.py"),
                    "--url",
                    url,
                    "--table",
                    "nps_full",
                    "--duckdb",
                    str(duck),
                    "--workdir",
                    str(env.workdir / "dlt"),
                ],
                e,
            )
        )
        measured.append(
            (
                "dlt `sql_table` (pyarrow backend, pymysql) → DuckDB, whole process",
                seconds,
                json.loads(out.strip().splitlines()[-1])["rows"],
            )
        )

    base = measured[0][1] / measured[0][2]
    dlt_rate = next((n / s for label, s, n in measured if label.startswith("dlt")), None)
    cx_rate = next(n / s for label, s, n in measured if label.startswith("connectorx"))
    rows_out = []
    for label, seconds, n in measured:
        r = n / seconds
        rows_out.append(
            [
                label,
                f"{n:,}",
                f"{seconds:.2f}",
                rate(n, seconds),
                f"{r * base:.2f}x",
                f"{100 * r / cx_rate:.0f}%",
                f"{r / dlt_rate:.1f}x" if dlt_rate else "—",
            ]
        )
    RESULTS["extract_load"] = [
        {"label": label, "rows": n, "seconds": s} for label, s, n in measured
    ]
    table(
        f"1. Full-history extract + load: {rows:,} rows from MariaDB (best of {REPEAT}; dlt: one run)",
        [
            "what",
            "rows",
            "seconds",
            "rows/s",
            "x raw pymysql fetch",
            "of connectorx fetch",
            "x dlt",
        ],
        rows_out,
    )


# --- 1b. one ordinary day ------------------------------------------------------------------------


def bench_one_day(env: Env, rows: int, per_day: int) -> None:
    m = env.mariadb
    days = max(1, rows // per_day)
    make_source_table(m.admin(), "nps_history", rows, days=days)
    day = DAY - dt.timedelta(days=days // 2)
    results = []
    for driver in ("connectorx", "pymysql"):
        name = f"day_{driver}"
        env.fresh(name)
        e = {**env.env("dev", name, "nps_history"), "NPS_SOURCE_DRIVER": driver}
        walls = []
        for _ in range(3):
            seconds, out = timed(
                lambda e=e: run_checked(
                    [str(BIN / "nps-loader"), "run", "--date", str(day), "--json"], e
                )
            )
            walls.append(seconds)
        results.append(
            [
                f"**nps-loader run --date {day}** ({driver}) → DuckDB, whole process",
                f"{json.loads(out)['rows']:,}",
                f"{min(walls):.2f}",
            ]
        )
    if BENCH_PY.exists():
        url = f"mysql+pymysql://{m.user}:{m.password}@127.0.0.1:{m.port}/{m.database}"
        walls, inner = [], []
        for n in range(3):
            duck = env.workdir / f"dlt_day{n}.duckdb"
            started = time.monotonic()
            out = run_checked(
                [
                    str(BENCH_PY),
                    str(ROOT / "bench" / "dlt_pipeline.py"),
                    "--url",
                    url,
                    "--table",
                    "nps_history",
                    "--duckdb",
                    str(duck),
                    "--workdir",
                    str(env.workdir / f"dlt{n}"),
                    "--start",
                    f"{day - dt.timedelta(days=1)}T23:00:00",
                    "--end",
                    f"{day + dt.timedelta(days=1)}T00:00:00",
                ],
                env.env("dev", "dlt"),
            )
            walls.append(time.monotonic() - started)
            info = json.loads(out.strip().splitlines()[-1])
            inner.append(info["seconds"])
        results.append(
            [
                "dlt `sql_table` incremental on `modified`, same window → DuckDB, whole process",
                f"{info['rows']:,}",
                f"{min(walls):.2f}",
            ]
        )
    RESULTS["one_day"] = results
    table(
        f"1b. One ordinary day (~{per_day:,} changed rows of {rows:,}), best of 3",
        ["what", "rows", "wall seconds"],
        results,
    )


# --- 2. memory ---------------------------------------------------------------------------------


def bench_memory(env: Env, day_sizes: list[int]) -> None:
    rows_out = []
    for size in day_sizes:
        make_source_table(env.mariadb.admin(), "nps_mem", size, days=1)
        for driver in ("connectorx", "pymysql"):
            for target in ("dev", "postgres"):
                name = f"mem_{driver}_{target}"
                env.fresh(name)
                e = {**env.env(target, name, "nps_mem"), "NPS_SOURCE_DRIVER": driver}
                info = peak([str(BIN / "nps-loader"), "run", "--date", str(DAY)], e)
                wh = "DuckDB" if target == "dev" else "PostgreSQL"
                rows_out.append(
                    [
                        f"{size:,}",
                        driver,
                        wh,
                        f"{info['seconds']:.1f}",
                        f"{size / info['seconds']:,.0f}",
                        f"{info['peak_rss_mb']:.0f}",
                    ]
                )
        with env.mariadb.admin().cursor() as cur:
            cur.execute("drop table nps_mem")
    RESULTS["memory"] = rows_out
    table(
        "2. Peak memory of `nps-loader run` for one large day",
        ["rows in the day", "driver", "warehouse", "seconds", "rows/s", "peak RSS (MB)"],
        rows_out,
    )


# --- 3. daily incremental dbt run vs full refresh as history grows --------------------------------


ROWS_PER_DAY = 10_000  # history grows by adding days, as it does in production
HISTORY_END = DAY  # history covers the days before this


def history_days(n: int) -> int:
    return max(60, n // ROWS_PER_DAY)


def created_at_sql(kind: str, i: str, n: int) -> str:
    """The creation time of history response ``i`` of ``n``: evenly spread, ROWS_PER_DAY a day."""
    span = history_days(n) * 86_400
    start = f"timestamp '{HISTORY_END - dt.timedelta(days=history_days(n))} 00:00:00'"
    if kind == "duckdb":
        return f"{start} + to_seconds(cast(floor({i} * {span} / {n}) as bigint))"
    return f"{start} + floor({i} * {span}::numeric / {n}) * interval '1 second'"


def series(kind: str, name: str, n: int) -> str:
    if kind == "duckdb":
        return f"range(1, {n} + 1) as t({name})"
    return f"generate_series(1::bigint, {n}::bigint) as t({name})"


def history_sql(kind: str, raw: str, n: int) -> list[str]:
    """N responses, every tenth with a second version three days later."""
    ts = created_at_sql(kind, "i", n)
    plus3 = "interval 3 day" if kind == "duckdb" else "interval '3 days'"
    gen = series(kind, "i", n)
    return [
        f"insert into {raw}.nps select i, {ts}, {ts}, i % 97 = 0, (i * 7919) % 11, cast({ts} as date), 'bench', timestamp '2021-06-01 00:30:00' from {gen}",
        f"insert into {raw}.nps select i, {ts}, {ts} + {plus3}, false, (i * 31) % 11, cast({ts} + {plus3} as date), 'bench', timestamp '2021-06-01 00:30:00' from {gen} where i % 10 = 0",
    ]


def changes_sql(kind: str, raw: str, n: int, changes: int, scenario: str, run_date: dt.date) -> str:
    """An ordinary day (80% new answers, 20% updates of the last month) or late updates spread
    evenly over the whole history."""
    stamp = f"timestamp '{run_date} 12:00:00'"
    recent = n - int(n * 30 / history_days(n))
    if scenario == "ordinary":
        ident = f"(case when k % 5 = 0 then {recent} + (k * 7) % {n - recent} else {n} + k end)"
    else:
        ident = f"(1 + k * {n // changes})"
    created = f"(case when {ident} <= {n} then {created_at_sql(kind, ident, n)} else {stamp} end)"
    return (
        f"insert into {raw}.nps select {ident}, {created}, {stamp} + k * interval '1 millisecond', "
        f"false, (k * 13) % 11, date '{run_date}', 'bench-{scenario}', current_timestamp from {series(kind, 'k', changes)}"
    )


def dbt_run(e: dict[str, str], *args: str) -> tuple[float, float]:
    """(model seconds from run_results.json, process wall seconds)."""
    seconds, _ = timed(
        lambda: run_checked([str(BIN / "dbt"), "run", "--project-dir", str(ROOT), *args], e)
    )
    results = json.loads((Path(e["DBT_TARGET_PATH"]) / "run_results.json").read_text())
    model = sum(
        r["execution_time"] for r in results["results"] if r["unique_id"].startswith("model.")
    )
    return model, seconds


def bench_incremental(
    env: Env, kind: str, history: list[int], changes: int
) -> list[dict[str, Any]]:
    import duckdb

    from loader.warehouse import raw_ddl

    points = []
    for n in history:
        name = f"inc_{kind}_{n}"
        target = "dev" if kind == "duckdb" else "postgres"
        env.fresh(name)
        e = env.env(target, name)
        raw = e["NPS_RAW_SCHEMA"]

        def execute(statements: list[str], e: dict[str, str] = e, raw: str = raw) -> None:
            if kind == "duckdb":
                con = duckdb.connect(e["NPS_DUCKDB_PATH"])
                for s in statements:
                    con.execute(s)
                con.close()
            else:
                for s in statements:
                    pg_sql(env.pg, s)

        execute(raw_ddl(raw))
        gen_seconds, _ = timed(
            lambda execute=execute, raw=raw, n=n: execute(history_sql(kind, raw, n))
        )
        if kind == "postgres":
            from loader.warehouse.postgres import raw_indexes

            execute([*raw_indexes(raw), f"analyze {raw}.nps"])  # as the loader leaves raw
        first_model, first_wall = dbt_run(e)  # the first build, into an empty schema
        point: dict[str, Any] = {
            "kind": kind,
            "raw_rows": int(n * 1.1),
            "first_model": first_model,
            "first_wall": first_wall,
            "full_model": None,
            "full_wall": None,
        }
        if n <= int(float(os.environ.get("BENCH_FULL_REFRESH_MAX", "40e6"))):
            point["full_model"], point["full_wall"] = dbt_run(e, "--full-refresh")
        if kind == "postgres":
            # The daily runs come hours after a rebuild, when autovacuum has long cleared the
            # rows the in-place --full-refresh deleted. Run straight after it, the first day
            # shares the 2 cores with that autovacuum (11M raw rows: 2.39 s instead of ~1.1 s).
            pg_vacuum(env.pg, [f"{raw}.nps", *(f"{e['NPS_PG_SCHEMA']}.{t}" for t in INT_TABLES)])
        for scenario, day in (
            ("ordinary", DAY + dt.timedelta(days=1)),
            ("late", DAY + dt.timedelta(days=2)),
        ):
            execute([changes_sql(kind, raw, n, changes, scenario, day)])
            model, wall = dbt_run(e, "--vars", f"{{run_date: {day}}}")
            point[f"{scenario}_model"], point[f"{scenario}_wall"] = model, wall
        points.append(point)
        emit(
            f"    {kind} {n:,}: generated in {gen_seconds:.0f}s; first build {first_model:.2f}s, ordinary day {point['ordinary_model']:.2f}s, late updates {point['late_model']:.2f}s"
        )
        if kind == "duckdb":
            for path in (Path(e["NPS_DUCKDB_PATH"]), Path(e["NPS_DUCKDB_PATH"] + ".wal")):
                path.unlink(missing_ok=True)
        else:
            env.fresh(name)
    return points


def report_incremental(points: list[dict[str, Any]], changes: int) -> None:
    def timing(model: float | None, wall: float | None) -> str:
        return "not run" if model is None or wall is None else f"{model:.2f} ({wall:.1f})"

    rows_out = []
    for p in points:
        rows_out.append(
            [
                "DuckDB" if p["kind"] == "duckdb" else "PostgreSQL",
                f"{p['raw_rows']:,}",
                timing(p["first_model"], p["first_wall"]),
                timing(p["full_model"], p["full_wall"]),
                timing(p["ordinary_model"], p["ordinary_wall"]),
                f"{100 * p['ordinary_model'] / p['first_model']:.1f}%",
                timing(p["late_model"], p["late_wall"]),
                f"{100 * p['late_model'] / p['first_model']:.1f}%",
            ]
        )
    RESULTS["incremental"] = points
    table(
        f"3. Daily incremental `dbt run` ({changes:,} changed rows) vs rebuilding, as history grows "
        "(model seconds from run_results.json, process seconds in brackets)",
        [
            "warehouse",
            "raw rows",
            "first build",
            "`--full-refresh`",
            "ordinary day",
            "of first build",
            "late updates over all days",
            "of first build",
        ],
        rows_out,
    )
    for kind in ("duckdb", "postgres"):
        ps = [p for p in points if p["kind"] == kind]
        if len(ps) > 1:
            emit(
                f"\n{kind}: from {ps[0]['raw_rows']:,} to {ps[-1]['raw_rows']:,} raw rows the ordinary "
                f"day's model time grows {ps[-1]['ordinary_model'] / ps[0]['ordinary_model']:.2f}x, "
                f"late updates {ps[-1]['late_model'] / ps[0]['late_model']:.2f}x, "
                f"the first build {ps[-1]['first_model'] / ps[0]['first_model']:.1f}x"
            )


def plot(points: list[dict[str, Any]], path: Path) -> None:
    if not BENCH_PY.exists():
        return
    data = json.dumps(points)
    script = f"""
import json, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
points = json.loads({data!r})
fig, ax = plt.subplots(figsize=(8, 5))
for kind, colour in (("duckdb", "tab:blue"), ("postgres", "tab:green")):
    ps = [p for p in points if p["kind"] == kind]
    if not ps: continue
    x = [p["raw_rows"] for p in ps]
    full = [(p["raw_rows"], p["full_model"]) for p in ps if p["full_model"] is not None]
    ax.plot([f[0] for f in full], [f[1] for f in full], "o-", color=colour, label=f"{{kind}}: dbt run --full-refresh")
    ax.plot(x, [p["first_model"] for p in ps], "D-.", color=colour, alpha=0.6, label=f"{{kind}}: first build")
    ax.plot(x, [p["ordinary_model"] for p in ps], "s--", color=colour, label=f"{{kind}}: incremental, ordinary day")
    ax.plot(x, [p["late_model"] for p in ps], "^:", color=colour, label=f"{{kind}}: incremental, late updates")
ax.set_xscale("log"); ax.set_yscale("log")
ax.set_xlabel("raw.nps rows (history)"); ax.set_ylabel("model execution time (s)")
ax.set_title("Daily incremental run vs full refresh as history grows")
ax.grid(True, which="both", alpha=0.3); ax.legend(fontsize=8)
fig.tight_layout(); fig.savefig({str(path)!r}, dpi=110)
"""
    subprocess.run([str(BENCH_PY), "-c", script], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the harness")
    parser.add_argument("--only", default="1,1b,2,3", help="which benchmarks (comma separated)")
    args = parser.parse_args()
    q = args.quick
    only = set(args.only.split(","))
    rows = sizes("BENCH_ROWS", "2000000", "100000", q)[0]
    day_rows = sizes("BENCH_DAY_ROWS", "5000", "5000", q)[0]
    memory = sizes("BENCH_MEMORY_ROWS", "2000000,8000000", "100000,200000", q)
    duck_history = sizes(
        "BENCH_DUCKDB_HISTORY", "1000000,10000000,30000000,100000000", "100000,300000", q
    )
    pg_history = sizes("BENCH_PG_HISTORY", "1000000,10000000", "100000,300000", q)
    changes = sizes("BENCH_CHANGES", "10000", "2000", q)[0]
    suffix = "-quick" if q else os.environ.get("BENCH_SUFFIX", "")

    emit(
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d} on {platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, Python {platform.python_version()}, "
        f"MariaDB and PostgreSQL 15 on loopback (fsync off)."
    )
    with (
        tempfile.TemporaryDirectory(prefix="nps-bench-") as tmp,
        mariadb_server() as m,
        postgres_server() as pg,
    ):
        env = Env(Path(tmp), m, pg)
        if "1" in only:
            bench_extract_load(env, rows)
        if "1b" in only:
            bench_one_day(env, rows, day_rows)
        if "2" in only:
            bench_memory(env, memory)
        if "3" in only:
            points = bench_incremental(env, "duckdb", duck_history, changes) + bench_incremental(
                env, "postgres", pg_history, changes
            )
            report_incremental(points, changes)
            plot(points, ROOT / "bench" / f"incremental{suffix}.png")
    (ROOT / "bench" / f"results{suffix}.md").write_text("\n".join(OUT) + "\n")
    (ROOT / "bench" / f"results{suffix}.json").write_text(
        json.dumps(RESULTS, indent=2, default=str)
    )


if __name__ == "__main__":
    main()
