"""Fixtures shared by every tier: the real servers (one each per session) and the stacks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.harness import Stack
from tests.support.servers import (
    MariaDB,
    Postgres,
    S3Server,
    mariadb_server,
    postgres_server,
    s3_server,
)
from tests.support.stacks import COMBOS, StackFactory, make_factory, new_duckdb_stack


@pytest.fixture
def duckdb_stack(tmp_path: Path) -> Stack:
    return new_duckdb_stack(tmp_path / "duckdb")


# --- real servers (session-wide) -------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDB]:
    with mariadb_server() as server:
        yield server


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


@pytest.fixture(params=COMBOS)
def stack_factory(request: pytest.FixtureRequest) -> StackFactory:
    return make_factory(request.param, request)
