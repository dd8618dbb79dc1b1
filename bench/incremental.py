"""3. The daily incremental ``dbt run`` against rebuilding, as history grows: raw history generated
inside the warehouse (DuckDB, PostgreSQL), then an ordinary day and a day of late updates spread
over every day. Also plots bench/incremental.png."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from bench.harness import BENCH_PY, BIN, DAY, Env, dbt_run, pg_sql, pg_vacuum, timed
from bench.report import Report

INT_TABLES = ("int_nps_responses_current", "int_nps_daily_counts")
#: the columns a day's load fills (raw.nps's correction columns stay null)
LOADED = "id, created_at, modified, deleted, score, _run_date, _extract_id, _loaded_at"


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
        f"insert into {raw}.nps ({LOADED}) select i, {ts}, {ts}, i % 97 = 0, (i * 7919) % 11, cast({ts} as date), 'bench', timestamp '2021-06-01 00:30:00' from {gen}",
        f"insert into {raw}.nps ({LOADED}) select i, {ts}, {ts} + {plus3}, false, (i * 31) % 11, cast({ts} + {plus3} as date), 'bench', timestamp '2021-06-01 00:30:00' from {gen} where i % 10 = 0",
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
        f"insert into {raw}.nps ({LOADED}) select {ident}, {created}, {stamp} + k * interval '1 millisecond', "
        f"false, (k * 13) % 11, date '{run_date}', 'bench-{scenario}', current_timestamp from {series(kind, 'k', changes)}"
    )


def sql_seconds(log: Path) -> float | None:
    """The seconds the statements of a run took in the database (the emulator's log), if any."""
    if not log.exists():
        return None
    return sum(json.loads(line)["seconds"] for line in log.read_text().splitlines())


def measure(
    report: Report, env: Env, kind: str, history: list[int], changes: int
) -> list[dict[str, Any]]:
    import duckdb

    from dev.redshift_emulator import open_connection, target_env
    from loader.warehouse import raw_ddl
    from loader.warehouse.redshift import RAW_TABLE_SUFFIX

    points = []
    for n in history:
        name = f"inc_{kind}_{n}"
        target = {"duckdb": "dev", "postgres": "postgres", "redshift": "redshift"}[kind]
        env.fresh(name)
        e = env.env(target, name)
        raw = e["NPS_RAW_SCHEMA"]
        prefix: list[str] = []
        if kind == "redshift":  # the same SQL as on a cluster, on the emulator's PostgreSQL
            e.update(target_env(env.pg.url(), e["NPS_PG_SCHEMA"]))
            prefix = [
                str(BIN / "python"),
                "-m",
                "dev.redshift_emulator",
                "--postgres",
                env.pg.url(),
                "--",
            ]
            emulated = open_connection(env.pg.url(), "psycopg2")
            emulated.autocommit = True
            for statement in raw_ddl(raw, RAW_TABLE_SUFFIX):  # sort key as the emulator indexes it
                emulated.cursor().execute(statement)
            emulated.close()

        def execute(statements: list[str], e: dict[str, str] = e, raw: str = raw) -> None:
            if kind == "duckdb":
                con = duckdb.connect(e["NPS_DUCKDB_PATH"])
                for s in statements:
                    con.execute(s)
                con.close()
            else:
                for s in statements:
                    pg_sql(env.pg, s)

        if kind != "redshift":
            execute(raw_ddl(raw))
        gen_seconds, _ = timed(
            lambda execute=execute, raw=raw, n=n: execute(history_sql(kind, raw, n))
        )
        if kind == "postgres":
            from loader.upgrade import postgres_indexes

            execute([*postgres_indexes(raw), f"analyze {raw}.nps"])  # as the loader leaves raw
        if kind == "redshift":
            pg_vacuum(env.pg, [f"{raw}.nps"])  # statistics, as the loader's loads leave them
        statement_log = env.workdir / f"statements-{name}.jsonl"
        if kind == "redshift":  # the emulator's log: the seconds the SQL itself took
            e["REDSHIFT_EMULATOR_LOG"] = str(statement_log)
            statement_log.unlink(missing_ok=True)
        first_model, first_wall = dbt_run(e, prefix=prefix)  # the first build, into an empty schema
        first_sql = sql_seconds(statement_log)
        point: dict[str, Any] = {
            "kind": kind,
            "raw_rows": int(n * 1.1),
            "first_model": first_model,
            "first_wall": first_wall,
            "full_model": None,
            "full_wall": None,
            "first_sql": first_sql,
        }
        if n <= int(float(os.environ.get("BENCH_FULL_REFRESH_MAX", "40e6"))):
            point["full_model"], point["full_wall"] = dbt_run(e, "--full-refresh", prefix=prefix)
        if kind in ("postgres", "redshift"):
            # The daily runs come hours after a rebuild, when autovacuum has long cleared the
            # rows the in-place --full-refresh deleted. Run straight after it, the first day
            # shares the 2 cores with that autovacuum (11M raw rows: 2.39 s instead of ~1.1 s).
            pg_vacuum(env.pg, [f"{raw}.nps", *(f"{e['NPS_PG_SCHEMA']}.{t}" for t in INT_TABLES)])
        for scenario, day in (
            ("ordinary", DAY + dt.timedelta(days=1)),
            ("late", DAY + dt.timedelta(days=2)),
        ):
            execute([changes_sql(kind, raw, n, changes, scenario, day)])
            statement_log.unlink(missing_ok=True)
            model, wall = dbt_run(e, "--vars", f"{{run_date: {day}}}", prefix=prefix)
            point[f"{scenario}_model"], point[f"{scenario}_wall"] = model, wall
            point[f"{scenario}_sql"] = sql_seconds(statement_log)
        points.append(point)
        report.line(
            f"    {kind} {n:,}: generated in {gen_seconds:.0f}s; first build {first_model:.2f}s, ordinary day {point['ordinary_model']:.2f}s, late updates {point['late_model']:.2f}s"
        )
        if kind == "duckdb":
            for path in (Path(e["NPS_DUCKDB_PATH"]), Path(e["NPS_DUCKDB_PATH"] + ".wal")):
                path.unlink(missing_ok=True)
        else:
            env.fresh(name)
    return points


def summarize(report: Report, points: list[dict[str, Any]], changes: int) -> None:
    def timing(model: float | None, wall: float | None) -> str:
        return "not run" if model is None or wall is None else f"{model:.2f} ({wall:.1f})"

    rows_out = []
    for p in points:
        rows_out.append(
            [
                {"duckdb": "DuckDB", "postgres": "PostgreSQL", "redshift": "Redshift (emulated)"}[
                    p["kind"]
                ],
                f"{p['raw_rows']:,}",
                timing(p["first_model"], p["first_wall"]),
                timing(p["full_model"], p["full_wall"]),
                timing(p["ordinary_model"], p["ordinary_wall"]),
                f"{100 * p['ordinary_model'] / p['first_model']:.1f}%",
                timing(p["late_model"], p["late_wall"]),
                f"{100 * p['late_model'] / p['first_model']:.1f}%",
            ]
        )
    report.table(
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
    for kind in ("duckdb", "postgres", "redshift"):
        ps = [p for p in points if p["kind"] == kind]
        if len(ps) > 1:
            report.line(
                f"{kind}: from {ps[0]['raw_rows']:,} to {ps[-1]['raw_rows']:,} raw rows the ordinary "
                f"day's model time grows {ps[-1]['ordinary_model'] / ps[0]['ordinary_model']:.2f}x, "
                f"late updates {ps[-1]['late_model'] / ps[0]['late_model']:.2f}x, "
                f"the first build {ps[-1]['first_model'] / ps[0]['first_model']:.1f}x"
            )
            report.line()


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


def run(
    report: Report,
    env: Env,
    duckdb_history: list[int],
    pg_history: list[int],
    changes: int,
    plot_path: Path,
) -> None:
    section = report.section(
        "3",
        f"Daily incremental `dbt run` ({changes:,} changed rows) vs rebuilding, as history grows "
        "(model seconds from run_results.json, process seconds in brackets)",
    )
    points = measure(report, env, "duckdb", duckdb_history, changes)
    points += measure(report, env, "postgres", pg_history, changes)
    report.line()
    section.data = points
    summarize(report, points, changes)
    plot(points, plot_path)


def run_redshift(report: Report, env: Env, history: list[int], changes: int) -> None:
    section = report.section(
        "6",
        f"Redshift's daily `dbt run` ({changes:,} changed rows) against its first build, on the "
        "emulated Redshift (dev/redshift_emulator: the same SQL on PostgreSQL, sort keys as "
        "B-trees, zone maps as BRIN indexes; model seconds, process seconds in brackets)",
    )
    points = measure(report, env, "redshift", history, changes)
    report.line()
    section.data = points
    summarize(report, points, changes)
    report.table(
        [
            "raw rows",
            "first build: SQL s",
            "ordinary day: SQL s",
            "of first build's SQL",
            "late updates: SQL s",
        ],
        [
            [
                f"{p['raw_rows']:,}",
                f"{p['first_sql']:.2f}",
                f"{p['ordinary_sql']:.2f}",
                f"{100 * p['ordinary_sql'] / p['first_sql']:.1f}%",
                f"{p['late_sql']:.2f}",
            ]
            for p in points
        ],
    )
    report.line(
        "SQL seconds: the time the statements took in the database, summed from the emulator's "
        "statement log; the rest of the model time is dbt's own work per model."
    )
