"""What the README and the help texts tell a new user is true of the checkout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.harness import ROOT


def test_the_venv_holds_exactly_the_pinned_packages() -> None:
    """`make install` installs constraints.txt's versions (refreshed with `make lock`)."""
    pip = Path(sys.executable).with_name("pip")
    frozen = subprocess.run(
        [str(pip), "freeze", "--exclude-editable"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    installed = {line for line in frozen if line and not line.startswith("nps-warehouse")}
    pinned = {
        line
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert installed == pinned, (sorted(installed - pinned)[:10], sorted(pinned - installed)[:10])


def test_make_demo_and_make_docs_use_the_settings_of_demo_env() -> None:
    """One set of (absolute) paths, so dbt sees one profile and keeps its partial parse."""
    (ROOT / "demo").mkdir(exist_ok=True)
    marker = ROOT / "demo" / "warehouse.duckdb"
    made = not marker.exists()
    if made:
        marker.touch()  # `make docs` documents the demo warehouse when there is one
    try:
        planned = subprocess.run(
            ["make", "-n", "demo", "docs"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.splitlines()
    finally:
        if made:
            marker.unlink()
    commands = [
        line
        for line in planned
        if ("/dbt " in line or "nps-loader" in line) and not line.startswith("echo")
    ]
    assert len(commands) >= 6
    for line in commands:
        if "demo-source" not in line:
            assert line.startswith("source ./demo.env && "), line


def test_help_examples_do_not_trigger_the_loaders_own_warnings() -> None:
    for args in ([], ["load"], ["run"], ["extract"]):
        shown = subprocess.run(
            [sys.executable, "-m", "loader", *args, "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "lake/nps" not in shown, shown


def test_make_install_lets_dbt_refuse_an_unquoted_impossible_date_in_one_line(
    tmp_path: Path,
) -> None:
    """`--vars '{run_date: 2021-13-01}'` unquoted, as YAML users type it: PyYAML's timestamp
    rule fails inside dbt's option parsing (a 40-line traceback) unless the hook that
    `make install` writes (loader/dbt_vars_hook.py) keeps it as text for the project to name."""
    import os
    import shutil

    shutil.copy(ROOT / "profiles.yml.example", tmp_path / "profiles.yml")
    args = ["--project-dir", str(ROOT), "--profiles-dir", str(tmp_path)]
    args += ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")]
    env = {**os.environ, "DBT_TARGET": "dev", "NPS_DUCKDB_PATH": str(tmp_path / "w.duckdb")}
    said = {}
    for vars_ in ("{run_date: 2021-13-01}", '{run_date: "2021-13-01"}'):
        out = subprocess.run(
            [str(Path(sys.executable).with_name("dbt")), "parse", "--vars", vars_, *args],
            capture_output=True,
            text=True,
            env=env,
        )
        assert out.returncode == 2 and "Traceback" not in out.stdout + out.stderr, out.stderr
        said[vars_] = [line for line in out.stdout.splitlines() if "not a real date" in line]
    assert said["{run_date: 2021-13-01}"] == said['{run_date: "2021-13-01"}']
    assert said['{run_date: "2021-13-01"}'] == ["  var run_date is not a real date: '2021-13-01'"]
