from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.harness import Stack

_counter = itertools.count()


def new_duckdb_stack(workdir: Path) -> Stack:
    workdir.mkdir(parents=True, exist_ok=True)
    return Stack(
        target="dev",
        workdir=workdir,
        env={"NPS_DUCKDB_PATH": str(workdir / "warehouse.duckdb")},
        lake=str(workdir / "lake"),
    )


@pytest.fixture
def duckdb_stack(tmp_path: Path) -> Stack:
    return new_duckdb_stack(tmp_path / "duckdb")
