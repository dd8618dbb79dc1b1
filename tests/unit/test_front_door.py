"""What the README and the help texts tell a new user is true of the checkout."""

from __future__ import annotations

import re

from tests.support.commands import one_error_line
from tests.support.harness import ROOT


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
        line = one_error_line(result, 2, words)
        assert line.startswith("nps-loader: error: ") and "Usage:" not in result.output
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


def test_the_facts_two_languages_share_are_spelled_alike() -> None:
    """Where Python and SQL must agree on a value, each spells it once and this holds the two
    equal: the correction a hard delete gets (loader/tables.py, int_nps_daily_counts.sql)."""
    from loader.tables import DELETED

    counts = (ROOT / "models" / "intermediate" / "int_nps_daily_counts.sql").read_text()
    assert f"_correction = '{DELETED}'" in counts


def test_the_vars_the_run_hook_accepts_are_the_projects() -> None:
    """An unknown var is refused by name (macros/nps_run_hooks.sql); the vars it knows are the
    ones dbt_project.yml declares with their defaults, no more, no fewer."""
    import yaml

    project = yaml.safe_load((ROOT / "dbt_project.yml").read_text())
    hooks = (ROOT / "macros" / "nps_run_hooks.sql").read_text()
    known = re.search(r"set known = \[([^\]]*)\]", hooks)
    assert known is not None
    assert sorted(re.findall(r"'(\w+)'", known.group(1))) == sorted(project["vars"])
