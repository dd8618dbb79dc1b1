"""What the README and the help texts tell a new user is true of the checkout."""

from __future__ import annotations

import re
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


def test_the_readme_says_what_the_dag_does() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "catchup=True" not in readme
    assert "NPS_DAG_RETRIES" in readme + (ROOT / "docs" / "operations.md").read_text()


def test_models_follow_the_naming_convention_in_docs_design() -> None:
    """Layer prefixes (stg_, int_) and, for the public marts, fct_<entity> or nps_<subject>:
    docs/design.md, "Names"."""
    rules = {
        "staging": r"stg_[a-z]+__[a-z_]+",
        "intermediate": r"int_[a-z_]+",
        "marts": r"(fct_[a-z_]+|nps_[a-z_]+)",
    }
    for layer, pattern in rules.items():
        names = sorted(p.stem for p in (ROOT / "models" / layer).glob("*.sql"))
        assert names, layer
        for name in names:
            assert re.fullmatch(pattern, name), f"models/{layer}/{name}.sql breaks {pattern}"
    generic = ROOT / "tests" / "dbt" / "generic"
    in_macros = [p for p in (ROOT / "macros").rglob("*.sql") if "{% test " in p.read_text()]
    assert not in_macros, "generic tests live in tests/dbt/generic (where dbt documents them)"
    assert {p.stem for p in generic.glob("*.sql")} >= {"one_content_per_version", "counts_add_up"}
