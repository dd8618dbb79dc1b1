"""The stack under test: one warehouse (profile, lake, schemas) and how to run the real loader
and dbt on it. The source tables are in :mod:`tests.support.sources`, the command lines and
their checks in :mod:`tests.support.commands`."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from loader.settings import Settings, from_values
from tests.support.oracle import Marts
from tests.support.sources import TestSource

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def environ(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class Stack:
    """A warehouse target plus a lake, isolated from every other stack by path or schema."""

    target: str  # the profiles.yml.example target: dev (DuckDB), postgres or redshift
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    lake: str = ""
    raw_schema: str = "raw"
    schema: str = "analytics"
    source_password: str | None = None
    #: the zone whose days the run dates and the marts follow (loader and dbt alike)
    reporting_timezone: str = "UTC"
    #: what the source's naive DATETIME values mean
    source_timezone: str = "UTC"
    #: the redshift target's PostgreSQL (dev/redshift_emulator): every loader and dbt call of
    #: this stack runs on the emulated Redshift
    emulated_postgres: str | None = None
    #: (environment, manifest) of the last parse (see dbt())
    _parsed: tuple[dict[str, str], Any] | None = field(default=None, repr=False, compare=False)

    @property
    def profiles_dir(self) -> Path:
        path = self.workdir / "profiles"
        if not (path / "profiles.yml").exists():
            path.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / "profiles.yml.example", path / "profiles.yml")
        return path

    @property
    def full_env(self) -> dict[str, str]:
        return {
            **self.env,
            "DBT_TARGET": self.target,
            "NPS_RAW_SCHEMA": self.raw_schema,
            "DBT_PROFILES_DIR": str(self.profiles_dir),
            "NPS_LAKE_URL": self.lake,
            "NPS_REPORTING_TIMEZONE": self.reporting_timezone,
            "NPS_SOURCE_TIMEZONE": self.source_timezone,
        }

    def loader_env(self, source: TestSource | None) -> dict[str, str]:
        """The environment an ``nps-loader`` process of this stack runs with."""
        env = {**os.environ, **self.full_env}
        if source is not None:
            env["NPS_SOURCE_URL"] = source.url
            env["NPS_SOURCE_TABLE"] = source.table
            if source.password:
                env["NPS_SOURCE_PASSWORD"] = source.password
        return env

    def settings(
        self, source: TestSource, lookback: dt.timedelta = dt.timedelta(hours=1)
    ) -> Settings:
        values = {
            "source": source.url,
            "source_table": source.table,
            "source_timezone": self.source_timezone,
            "lake": self.lake,
            "profiles_dir": str(self.profiles_dir),
            "target": self.target,
            "raw_schema": self.raw_schema,
            "lookback": f"{int(lookback.total_seconds())}s",
            "reporting_timezone": self.reporting_timezone,
        }
        password = {"NPS_SOURCE_PASSWORD": source.password} if source.password else {}
        return from_values(values, password)[0]

    def run_day(
        self, source: TestSource, day: dt.date, lookback: dt.timedelta = dt.timedelta(hours=1)
    ) -> Any:
        """``nps-loader run --date day`` in-process (the profile sees this stack's environment)."""
        from loader import pipeline

        with environ(self.full_env), self.emulated():
            return pipeline.run(self.settings(source, lookback), day)

    @contextlib.contextmanager
    def emulated(self) -> Iterator[None]:
        """In-process calls of a redshift stack run on the emulated Redshift."""
        if self.emulated_postgres is None:
            yield
            return
        from dev.redshift_emulator import emulate

        with emulate(self.emulated_postgres):
            yield

    def command(self, program: str) -> list[str]:
        """How a process of this stack starts ``program`` (nps-loader or dbt)."""
        if self.emulated_postgres is not None:
            return [
                sys.executable,
                "-m",
                "dev.redshift_emulator",
                "--postgres",
                self.emulated_postgres,
                "--",
                program,
            ]
        if program == "dbt":
            return [str(Path(sys.executable).with_name("dbt"))]
        return [sys.executable, "-m", "loader"]

    def _manifest(self) -> Any:
        from dbt.cli.main import dbtRunner

        env = dict(self.full_env)
        if self._parsed is None or self._parsed[0] != env:
            parsed = dbtRunner().invoke([*self.dbt_args("parse"), "--quiet"])
            assert parsed.success, f"dbt parse failed: {parsed.exception}"
            self._parsed = (env, parsed.result)
        return self._parsed[1]

    def dbt_args(self, *args: str) -> list[str]:
        return [
            *args,
            "--project-dir",
            str(ROOT),
            "--profiles-dir",
            str(self.profiles_dir),
            "--target",
            self.target,
            "--target-path",
            str(self.workdir / "dbt-target"),
            "--log-path",
            str(self.workdir / "dbt-logs"),
        ]

    def dbt(self, *args: str, expect_success: bool = True) -> Any:
        """Run dbt in-process (dbtRunner): the real dbt, without a process start-up per call.

        The project is parsed once per stack and environment and the manifest handed to every
        later invocation: each ``--vars`` would otherwise make dbt parse the whole project again
        (vars are read when a node compiles, at run time, so a shared manifest runs them as a
        fresh parse would)."""
        from dbt.cli.main import dbtRunner

        with environ(self.full_env), self.emulated():
            runner = dbtRunner(manifest=self._manifest()) if args[0] != "parse" else dbtRunner()
            result = runner.invoke([*self.dbt_args(*args), "--quiet"])
        if expect_success and not result.success:
            messages = [
                r.message
                for r in getattr(result.result, "results", [])
                if r.status in ("error", "fail")
            ]
            raise AssertionError(f"dbt {' '.join(args)} failed: {result.exception or messages}")
        return result

    @contextlib.contextmanager
    def connect(self) -> Iterator[Any]:
        if self.target == "dev":
            import duckdb

            conn = duckdb.connect(self.env["NPS_DUCKDB_PATH"])
            try:
                yield conn
            finally:
                conn.close()
        else:
            import psycopg2

            conn = psycopg2.connect(
                host=self.env["NPS_PG_HOST"],
                port=int(self.env["NPS_PG_PORT"]),
                user=self.env["NPS_PG_USER"],
                password=self.env.get("NPS_PG_PASSWORD", ""),
                dbname=self.env["NPS_PG_DATABASE"],
            )
            try:
                yield conn
            finally:
                conn.close()

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with self.connect() as conn:
            if self.target == "dev":
                return list(conn.execute(sql).fetchall())
            with conn.cursor() as cur:
                cur.execute(sql)
                rows = list(cur.fetchall()) if cur.description else []
            conn.commit()
            return rows

    def read_marts(self) -> Marts:
        s = self.schema

        def counts(row: tuple[Any, ...]) -> tuple[int, int, int, int, Decimal]:
            nps = None if row[5] is None else Decimal(row[5])  # a quiet week of nps_rolling_daily
            return (int(row[1]), int(row[2]), int(row[3]), int(row[4]), nps)  # type: ignore[return-value]

        fct = self.query(
            f"select id, created_at, modified, score, category, response_date, response_month "
            f"from {s}.fct_nps_responses"
        )
        ids = [r[0] for r in fct]
        assert len(ids) == len(set(ids)), "fct_nps_responses has a duplicate id"
        measures = "responses, promoters, passives, detractors, nps, nps_ci_low, nps_ci_high, is_small_sample"
        daily = self.query(f"select response_date, {measures} from {s}.nps_summary_daily")
        monthly = self.query(
            f"select response_month, {measures}, previous_nps, nps_change, change_is_significant "
            f"from {s}.nps_summary_monthly"
        )
        rejected = self.query(f"select id, reject_reason from {s}.nps_rejected_responses")
        windows = ", ".join(
            f"responses_{w}, promoters_{w}, passives_{w}, detractors_{w}, nps_{w}, "
            f"nps_{w}_ci_low, nps_{w}_ci_high, is_small_sample_{w}"
            for w in ("7d", "28d")
        )
        rolling = self.query(f"select response_date, {windows} from {s}.nps_rolling_daily")

        def interval(row: tuple[Any, ...]) -> tuple[Decimal, Decimal, bool]:
            if row[6] is None:  # a quiet week of nps_rolling_daily
                return (None, None, bool(row[8]))  # type: ignore[return-value]
            return (Decimal(row[6]), Decimal(row[7]), bool(row[8]))

        def decimal(value: Any) -> Decimal | None:
            return None if value is None else Decimal(value)

        return Marts(
            responses={int(r[0]): (r[1], r[2], int(r[3]), r[4], r[5], r[6]) for r in fct},
            daily={r[0]: counts(r) for r in daily},
            monthly={r[0]: counts(r) for r in monthly},
            rejected={int(r[0]): r[1] for r in rejected},
            daily_intervals={r[0]: interval(r) for r in daily},
            monthly_intervals={r[0]: interval(r) for r in monthly},
            monthly_changes={
                r[0]: (decimal(r[9]), decimal(r[10]), None if r[11] is None else bool(r[11]))
                for r in monthly
            },
            rolling={
                r[0]: (counts(r), interval(r), counts(r[8:]), interval(r[8:])) for r in rolling
            },
        )
