"""The warehouse stacks the tests run on: DuckDB alone, or a combination of warehouse, source
and lake over the real servers (combinations named like ``postgres-mysql-s3``)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.harness import Stack, environ
from tests.support.servers import Postgres, S3Server
from tests.support.sources import MySQLSource, SqliteSource, TestSource

_ids = itertools.count()

#: The combinations the end-to-end and property tests run on.
COMBOS = ["duckdb-sqlite-local", "duckdb-mysql-s3", "postgres-mysql-s3"]

StackFactory = Callable[[Path], tuple[Stack, TestSource]]


def new_duckdb_stack(workdir: Path) -> Stack:
    workdir.mkdir(parents=True, exist_ok=True)
    return Stack(
        target="dev",
        workdir=workdir,
        env={"NPS_DUCKDB_PATH": str(workdir / "warehouse.duckdb")},
        lake=str(workdir / "lake"),
    )


def _new_bucket(s3: S3Server, name: str) -> str:
    import boto3

    with environ(s3.env()):
        boto3.client("s3").create_bucket(Bucket=name)
    return f"s3://{name}/lake"


def make_factory(combo: str, request: pytest.FixtureRequest) -> StackFactory:
    """Build isolated (stack, source) pairs for one combination of warehouse, source and lake."""
    warehouse, source_kind, lake_kind = combo.split("-")

    def make(workdir: Path) -> tuple[Stack, TestSource]:
        n = next(_ids)
        workdir.mkdir(parents=True, exist_ok=True)
        stack = new_duckdb_stack(workdir)
        if warehouse in ("postgres", "redshift"):
            pg: Postgres = request.getfixturevalue("postgres")
            stack = Stack(
                target=warehouse,
                workdir=workdir,
                env=pg.env(f"analytics_{n}"),
                raw_schema=f"raw_{n}",
                schema=f"analytics_{n}",
            )
        if warehouse == "redshift":
            from dev.redshift_emulator import target_env

            stack.emulated_postgres = pg.url()
            stack.env.update(target_env(stack.emulated_postgres, f"analytics_{n}"))
        if warehouse == "redshift" and lake_kind != "s3":
            raise ValueError("Redshift COPYs from S3: use a redshift-*-s3 combination")
        if lake_kind == "s3":
            s3: S3Server = request.getfixturevalue("s3")
            stack.env.update(s3.env())
            stack.lake = _new_bucket(s3, f"lake-{n}")
        else:
            stack.lake = str(workdir / "lake")
        source: TestSource
        if source_kind == "mysql":
            source = MySQLSource(request.getfixturevalue("mariadb"), f"nps_{n}")
        else:
            source = SqliteSource(workdir / "source.db")
        return stack, source

    return make
