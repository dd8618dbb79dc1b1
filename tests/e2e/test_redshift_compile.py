"""The project as Redshift would get it, as close as a machine without a cluster allows.

dbt compiles every model and test with the real dbt-redshift adapter and its macros (so every
`adapter.dispatch` takes its `redshift__` branch) for the `redshift` target of
profiles.yml.example. dbt must query a warehouse to compile (is this model incremental? what does
the daily-counts plan recount?), and no Redshift answers here: redshift_connector's connect is
replaced by a thin DB-API shim onto the test PostgreSQL, which holds a real warehouse built by
the same project. Then every compiled statement, and every statement of the loader's Redshift
load, must parse under sqlglot's Redshift grammar. What this cannot check is listed in the
docs/operations.md ("Redshift: what is checked without a cluster").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from loader.demo import generate_events, state_as_of
from loader.reconcile import day_state_sql, ids_state_sql
from loader.upgrade import missing_columns
from loader.warehouse import raw_ddl
from loader.warehouse.redshift import (
    RAW_TABLE_SUFFIX,
    correction_statements,
    load_statements,
)
from tests.support.harness import environ
from tests.support.samples import LOADED_AT, ROLE, URI, manifest
from tests.support.servers import Postgres, unavailable
from tests.support.stacks import make_factory

START = dt.date(2021, 6, 1)


class _Cursor:
    """redshift_connector's cursor returns itself from execute; psycopg2's returns None."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Any = None) -> _Cursor:
        self._cursor.execute(sql, params)
        return self

    def __enter__(self) -> _Cursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self._cursor.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class _Connection:
    def __init__(self, connection: Any) -> None:
        object.__setattr__(self, "_connection", connection)

    def cursor(self) -> _Cursor:
        return _Cursor(self._connection.cursor())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._connection, name, value)


def _parse_redshift(sql: str, where: str) -> list[Any]:
    import sqlglot
    from sqlglot import exp

    statements = [s for s in sqlglot.parse(sql, read="redshift") if s is not None]
    for statement in statements:
        # a statement sqlglot cannot model falls back to an opaque Command: only `lock` may
        if isinstance(statement, exp.Command):
            assert statement.name.lower() == "lock", f"{where}: not parsed: {statement.sql()[:200]}"
    return statements


@pytest.mark.slow
def test_every_model_test_and_load_statement_compiles_for_redshift(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    try:
        import redshift_connector
        import sqlglot  # noqa: F401
    except ImportError:
        unavailable("dbt-redshift and sqlglot are not installed (pip install '.[dev]')")
    import psycopg2
    from dbt.cli.main import dbtRunner

    stack, source = make_factory("postgres-sqlite-local", request)(tmp_path)
    stack.reporting_timezone = "Asia/Seoul"  # so the redshift__ zone branch is compiled
    source.write(state_as_of(generate_events(9, START, 3, 30), None).values())
    for offset in range(3):
        stack.run_day(source, START + dt.timedelta(days=offset))
    stack.dbt("run")  # the warehouse dbt will introspect: incremental models already exist

    pg: Postgres = request.getfixturevalue("postgres")

    def connect(**kwargs: Any) -> _Connection:
        return _Connection(
            psycopg2.connect(
                host=kwargs["host"],
                port=kwargs["port"],
                user=kwargs["user"],
                password=kwargs["password"],
                dbname=kwargs["database"],
            )
        )

    monkeypatch.setattr(redshift_connector, "connect", connect)
    redshift = {
        "NPS_REDSHIFT_HOST": "127.0.0.1",
        "NPS_REDSHIFT_PORT": str(pg.port),
        "NPS_REDSHIFT_USER": pg.user,
        "NPS_REDSHIFT_PASSWORD": pg.password,
        "NPS_REDSHIFT_DATABASE": pg.database,
        "NPS_REDSHIFT_SCHEMA": stack.schema,
    }
    target = tmp_path / "redshift-target"
    args = [*stack.dbt_args("compile"), "--target", "redshift", "--target-path", str(target)]
    with environ({**stack.full_env, **redshift}):
        result = dbtRunner().invoke(args)
    assert result.success, result.exception

    compiled = sorted((target / "compiled").rglob("*.sql"))
    models = {p.stem: p.read_text() for p in compiled if "/models/" in str(p)}
    assert {
        "stg_nps__responses",
        "int_nps_responses_current",
        "int_nps_daily_counts",
        "fct_nps_responses",
        "nps_summary_daily",
        "nps_summary_monthly",
        "nps_rejected_responses",
        "nps_score_bands",
    } <= set(models)
    assert (
        "convert_timezone('UTC', 'Asia/Seoul', created_at)" in models["int_nps_responses_current"]
    )
    assert "at time zone" not in models["int_nps_responses_current"]
    assert len(compiled) > 40, "every model and data test is compiled"
    for path in compiled:
        assert _parse_redshift(path.read_text(), str(path)), path

    # the loader's own Redshift statements: DDL and the whole load
    for sql in raw_ddl("raw", RAW_TABLE_SUFFIX):
        _parse_redshift(sql, "raw DDL")
    for statement in load_statements("raw", manifest(), URI, ROLE, LOADED_AT):
        _parse_redshift(statement.sql.replace("%s", "NULL"), statement.sql)
    # reconcile: its load, the columns it adds, and its read of the current state
    reconcile_manifest = dataclasses.replace(manifest(), kind="reconcile", rows=4)
    for statement in correction_statements("raw", reconcile_manifest, URI, ROLE, LOADED_AT):
        _parse_redshift(statement.sql.replace("%s", "NULL"), statement.sql)
    for sql in missing_columns("raw", set()):
        _parse_redshift(sql, sql)
    day = (dt.date(2021, 9, 1), (dt.datetime(2021, 9, 1), dt.datetime(2021, 9, 2)))
    for model, folded in (
        (None, False),
        ("analytics.int_nps_responses_current", False),
        ("analytics.int_nps_responses_current", True),
    ):
        sql = day_state_sql("raw", model, *day, folded=folded)
        _parse_redshift(sql.replace("%s", "NULL"), sql)
        ids = ids_state_sql("raw", model, "(id between 1 and 9)").format(ids="nps_ids")
        _parse_redshift(ids, ids)
