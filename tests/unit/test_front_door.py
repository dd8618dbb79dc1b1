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


def test_a_usage_error_is_one_line_exit_2_and_json_under_json() -> None:
    """`nps-loader run` without --date, an unknown command, a bad choice: one line, like every
    other error, and the JSON error object an orchestrator reads under --json."""
    import json

    from click.testing import CliRunner

    from loader.cli import main

    runner = CliRunner()
    for args, words in [
        (["run"], "missing option '--date'"),
        (["rnu", "--date", "2021-09-16"], "no such command 'rnu'"),
        (["run", "--date", "2021-09-16", "--driver", "odbc"], "invalid value for '--driver'"),
    ]:
        result = runner.invoke(main, args)
        assert result.exit_code == 2, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("nps-loader: error: "), result.stderr
        assert words in lines[0] and "Usage:" not in result.output
        as_json = runner.invoke(main, [*args, "--json"])
        error = json.loads(as_json.stdout)
        assert error["ok"] is False and error["exit_code"] == 2 and words in error["error"]


def test_run_help_groups_its_options() -> None:
    from click.testing import CliRunner

    from loader.cli import main

    text = CliRunner().invoke(main, ["run", "--help"]).output
    headings = [line for line in text.splitlines() if line.endswith(":") and line[0] != " "]
    assert headings == ["Options:", "Source:", "Lake:", "Warehouse:", "Day:", "Output:"], headings
    assert len(text.splitlines()) <= 60
    # each option under its own group
    assert text.index("--source-table") < text.index("Lake:") < text.index("--lake-sse")


def test_the_readme_tells_the_first_time_order_dbt_enforces() -> None:
    """The README's first-time paragraph quotes the messages the hooks give, word for word."""
    hooks = (ROOT / "macros" / "nps_run_hooks.sql").read_text()
    readme = " ".join((ROOT / "README.md").read_text().split())
    told = "run `dbt run` (or `dbt build`, which runs and tests) before `dbt test`"
    assert told in hooks and told in readme
    assert "does not exist yet in target dev (DuckDB file ./warehouse.duckdb)" in readme
    assert 'does not exist yet in " ~ nps_target_description()' in hooks
    assert "then work in any order" not in readme


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


def test_the_facts_two_languages_share_are_spelled_alike() -> None:
    """Where Python and SQL must agree on a value, each spells it once and this holds the two
    equal: the correction a hard delete gets (loader/tables.py, int_nps_daily_counts.sql)."""
    from loader.tables import DELETED

    counts = (ROOT / "models" / "intermediate" / "int_nps_daily_counts.sql").read_text()
    assert f"_correction = '{DELETED}'" in counts
