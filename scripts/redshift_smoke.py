"""`make redshift-smoke`: what only a real cluster can show, run end to end, printed as a checklist.

    NPS_REDSHIFT_HOST=... NPS_REDSHIFT_PASSWORD=... NPS_REDSHIFT_IAM_ROLE=arn:... \\
    NPS_LAKE_URL=s3://bucket/prefix python scripts/redshift_smoke.py

Writes a three-day synthetic source (SQLite), then through the `redshift` target: a backfill and
a first `dbt build`; two incremental days; two `dbt run`s started together (threads: 4: one
succeeds, the other succeeds or is refused by the run lock); the staged timestamps compared
with the source's to the microsecond; a hard delete found and repaired by reconcile; with
NPS_LAKE_SSE=aws:kms, the SSE-KMS objects read by COPY. Each check prints PASS, FAIL or SKIP
with what it saw; the exit status is 1 if any failed.

``--emulator postgresql://...`` runs the same checklist on the emulated Redshift
(dev/redshift_emulator), as the tests do.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # dev.redshift_emulator, for --emulator
START = dt.date(2021, 6, 1)
DAYS = [START + dt.timedelta(days=n) for n in range(3)]


class Smoke:
    def __init__(self, workdir: Path, emulator: str | None) -> None:
        self.workdir = workdir
        self.emulator = emulator
        self.source = workdir / "smoke.db"
        self.results: list[tuple[str, str, str]] = []
        self.env = {
            **os.environ,
            "DBT_TARGET": "redshift",
            "NPS_RAW_SCHEMA": os.environ.get("NPS_RAW_SCHEMA", "raw_smoke"),
            "NPS_REDSHIFT_SCHEMA": os.environ.get("NPS_REDSHIFT_SCHEMA", "analytics_smoke"),
            "NPS_SOURCE_URL": f"sqlite:///{self.source}",
        }
        if emulator:
            from dev.redshift_emulator import target_env

            emulated = target_env(emulator, self.env["NPS_REDSHIFT_SCHEMA"])
            role = emulated.pop("NPS_REDSHIFT_IAM_ROLE")
            self.env.update(emulated)
            self.env.setdefault("NPS_REDSHIFT_IAM_ROLE", role)

    def command(self, program: str) -> list[str]:
        if self.emulator:
            prefix = [sys.executable, "-m", "dev.redshift_emulator", "--postgres", self.emulator]
            return [*prefix, "--", program]
        bin_dir = Path(sys.executable).parent
        return [str(bin_dir / program)]

    def run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*self.command(program), *args], cwd=ROOT, env=self.env, capture_output=True, text=True
        )
        if result.returncode != 0:
            tail = (result.stderr.strip() or result.stdout.strip()).splitlines()[-3:]
            raise RuntimeError(f"{program} {' '.join(args)} failed: {' | '.join(tail)}")
        return result

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Read the warehouse as the loader does (the profile's redshift target)."""
        script = (
            "import json, sys\n"
            "from loader.dbt_profile import load_target\n"
            "from loader.warehouse.libpq import connect, run_query\n"
            "conn = connect(load_target(None, 'redshift'))\n"
            "print(json.dumps(run_query(conn, sys.argv[1], ()), default=str))\n"
        )
        if self.emulator:
            script = (
                "from dev.redshift_emulator import emulate\n"
                f"with emulate({self.emulator!r}):\n"
                + "".join(f"    {line}\n" for line in script.splitlines())
            )
        import json

        out = subprocess.run(
            [sys.executable, "-c", script, sql],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return [tuple(row) for row in json.loads(out.stdout)]

    def check(self, name: str, step: Callable[[], str]) -> None:
        try:
            detail = step()
            status = "SKIP" if detail.startswith("skipped") else "PASS"
        except Exception as exc:
            status, detail = "FAIL", str(exc).splitlines()[0] if str(exc) else repr(exc)
        self.results.append((status, name, detail))
        print(f"[{status}] {name}: {detail}", flush=True)

    # --- the checks ------------------------------------------------------------------------

    def first_build(self) -> str:
        self.run(
            "nps-loader", "demo-source", "--path", str(self.source), "--seed", "7",
            "--start", str(START), "--days", "3", "--per-day", "200",
        )  # fmt: skip
        self.run("nps-loader", "backfill", "--start", str(DAYS[0]), "--end", str(DAYS[0]))
        self.run("dbt", "build")
        return "backfill of one day, dbt build (every model, unit test and data test) passed"

    def incremental_days(self) -> str:
        for day in DAYS[1:]:
            self.run("nps-loader", "run", "--date", str(day))
            self.run("dbt", "run", "--vars", f"{{run_date: {day}}}")
        self.run("nps-loader", "verify", "--start", str(DAYS[0]), "--end", str(DAYS[-1]))
        return f"{DAYS[1]} and {DAYS[2]} loaded and run incrementally; verify matches the source"

    def concurrent_runs(self) -> str:
        runs = [
            subprocess.Popen(
                [*self.command("dbt"), "run"],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(2)
        ]
        outcomes = [(run.wait(1800), run.stdout.read() if run.stdout else "") for run in runs]
        refused = 0
        for code, out in outcomes:
            if code != 0:
                if "another dbt run of this project is in progress" not in out:
                    raise RuntimeError(
                        f"a concurrent dbt run failed: {out.strip().splitlines()[-1]}"
                    )
                refused += 1
        if refused == 2:
            raise RuntimeError("both concurrent runs were refused")
        left = self.query(f"select count(*) from {self.env['NPS_REDSHIFT_SCHEMA']}.nps_run_lock")
        if left != [(0,)]:
            raise RuntimeError(f"the run lock holds {left[0][0]} rows after both runs")
        return f"two dbt runs at once (threads: 4): {2 - refused} succeeded, {refused} refused by the run lock"

    def timestamps_round_trip(self) -> str:
        conn = sqlite3.connect(self.source)
        try:
            source = {
                (int(r[0]), r[1], r[2])
                for r in conn.execute(
                    "select id, created_at, modified from nps where created_at is not null"
                )
            }
        finally:
            conn.close()
        raw = self.query(
            f"select id, created_at, modified from {self.env['NPS_RAW_SCHEMA']}.nps "
            f"where _run_date between '{DAYS[0]}' and '{DAYS[-1]}' and _correction is null"
        )

        def text(value: Any) -> str:
            return str(value).replace("T", " ")

        warehouse = {(int(r[0]), text(r[1]), text(r[2])) for r in raw}
        normalised = {
            (i, text(dt.datetime.fromisoformat(c)), text(dt.datetime.fromisoformat(m)))
            for i, c, m in source
        }
        missing = [row for row in warehouse if row not in normalised]
        if missing:
            raise RuntimeError(
                f"{len(missing)} staged rows differ from the source, e.g. {missing[0]}"
            )
        return f"{len(warehouse)} loaded versions equal the source's created_at and modified to the microsecond"

    def reconcile(self) -> str:
        conn = sqlite3.connect(self.source)
        try:
            with conn:
                (victim,) = conn.execute(
                    "select min(id) from nps where deleted = 0 and created_at is not null"
                ).fetchone()
                conn.execute("delete from nps where id = ?", (victim,))
        finally:
            conn.close()
        args = ["reconcile", "--start", str(DAYS[0]), "--end", str(DAYS[-1])]
        self.run("nps-loader", *args, "--apply")
        self.run("dbt", "run")
        self.run("nps-loader", "verify", "--start", str(DAYS[0]), "--end", str(DAYS[-1]))
        again = self.run("nps-loader", *args).stdout
        if "nothing to correct" not in again:
            raise RuntimeError(f"a second reconcile still finds corrections: {again.strip()}")
        return f"a hard delete (id {victim}) corrected by reconcile --apply; verify matches again"

    def kms(self) -> str:
        if os.environ.get("NPS_LAKE_SSE") != "aws:kms":
            return "skipped: set NPS_LAKE_SSE=aws:kms (and NPS_LAKE_KMS_KEY_ID) to check that COPY reads SSE-KMS objects"
        return "every load above COPYed SSE-KMS objects (the role's kms:Decrypt works)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="demo/smoke", help="where the smoke source is written")
    parser.add_argument("--emulator", help="postgresql://... of an emulated Redshift (dev only)")
    args = parser.parse_args()
    workdir = (ROOT / args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "smoke.db").unlink(missing_ok=True)
    smoke = Smoke(workdir, args.emulator)
    print("Redshift smoke test (docs/operations.md, 'Redshift: what is checked without a cluster')")
    smoke.check("first build", smoke.first_build)
    smoke.check("two incremental days", smoke.incremental_days)
    smoke.check("concurrent runs, threads: 4", smoke.concurrent_runs)
    smoke.check("staged timestamps round-trip", smoke.timestamps_round_trip)
    smoke.check("reconcile", smoke.reconcile)
    smoke.check("SSE-KMS read by COPY", smoke.kms)
    failed = [name for status, name, _ in smoke.results if status == "FAIL"]
    print(f"{len(smoke.results) - len(failed)} of {len(smoke.results)} checks passed or skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
