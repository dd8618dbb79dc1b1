"""What every benchmark uses: the environment for loader and dbt subprocesses against the bench's
own servers, timing, and peak-memory measurement."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dev.servers import MariaDB, Postgres

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
#: dlt and matplotlib live in their own venv (make bench installs it)
BENCH_PY = ROOT / ".venv-bench" / "bin" / "python"
#: the day every generated source table ends on
DAY = dt.date(2021, 6, 1)
#: the fast benchmarks report the best of this many runs of each row (the machine is a shared VM)
REPEAT = 3


class Env:
    """Profiles, lake and warehouse files for loader and dbt subprocesses; one name per case."""

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

    def mysql_url(self, driver: str = "mysql+pymysql") -> str:
        m = self.mariadb
        return f"{driver}://{m.user}:{m.password}@127.0.0.1:{m.port}/{m.database}"

    def _drop_duckdb(self, name: str) -> None:
        for path in (self.workdir / f"{name}.duckdb", self.workdir / f"{name}.duckdb.wal"):
            path.unlink(missing_ok=True)

    def drop_warehouse(self, name: str) -> None:
        """The warehouse side of ``name`` only (its lake stays)."""
        self._drop_duckdb(name)
        pg_sql(self.pg, f"drop schema if exists raw_{name} cascade")

    def fresh(self, name: str) -> None:
        self._drop_duckdb(name)
        shutil.rmtree(self.workdir / f"lake-{name}", ignore_errors=True)
        pg_sql(
            self.pg,
            f"drop schema if exists raw_{name} cascade; drop schema if exists analytics_{name} cascade",
        )


def _pg_connect(pg: Postgres) -> Any:
    import psycopg2

    return psycopg2.connect(
        host="127.0.0.1", port=pg.port, user=pg.user, password=pg.password, dbname=pg.database
    )


def pg_sql(pg: Postgres, sql: str) -> list[tuple[Any, ...]]:
    conn = _pg_connect(pg)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall()) if cur.description else []
    finally:
        conn.close()


def pg_vacuum(pg: Postgres, tables: list[str]) -> None:
    """``vacuum analyze`` (outside a transaction, as VACUUM requires), as autovacuum would."""
    conn = _pg_connect(pg)
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


def best_of(n: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    return min((timed(fn) for _ in range(n)), key=lambda r: r[0])


def run_checked(cmd: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    return result.stdout


def loader(env: dict[str, str], *args: str) -> dict[str, Any]:
    """``nps-loader <args> --json``: its result."""
    return dict(json.loads(run_checked([str(BIN / "nps-loader"), *args, "--json"], env)))


def peak(cmd: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> dict[str, Any]:
    """Run ``cmd``: its exit status, wall seconds and peak RSS in MB (bench/peak_rss.py); an
    exit status outside ``ok`` fails the benchmark."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "peak_rss.py"), *cmd],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    info = json.loads(out.stdout.strip().splitlines()[-1])
    if info["status"] not in ok:
        raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr[-2000:]}")
    return dict(info)


def dlt(env: Env, *args: str) -> dict[str, Any]:
    """bench/dlt_pipeline.py in .venv-bench: its rows and seconds."""
    out = run_checked(
        [str(BENCH_PY), str(ROOT / "bench" / "dlt_pipeline.py"), *args], env.env("dev", "dlt")
    )
    return dict(json.loads(out.strip().splitlines()[-1]))


def dbt_run(e: dict[str, str], *args: str, prefix: list[str] | None = None) -> tuple[float, float]:
    """(model seconds from run_results.json, process wall seconds). ``prefix``: what starts dbt
    (the Redshift emulator's command line); the venv's dbt by default."""
    dbt = [*prefix, "dbt"] if prefix else [str(BIN / "dbt")]
    seconds, _ = timed(lambda: run_checked([*dbt, "run", "--project-dir", str(ROOT), *args], e))
    results = json.loads((Path(e["DBT_TARGET_PATH"]) / "run_results.json").read_text())
    model = sum(
        r["execution_time"] for r in results["results"] if r["unique_id"].startswith("model.")
    )
    return model, seconds
