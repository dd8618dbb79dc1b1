"""`nps-loader run` checks everything knowable before it extracts: for Redshift, the COPY role
and an S3 lake (found only after the extract was written, before)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.commands import cli, one_error_line
from tests.support.harness import Stack
from tests.support.sources import sqlite_source

TS = "2021-09-16 10:00:00.000000"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "loading into Redshift needs NPS_REDSHIFT_IAM_ROLE"),
        (
            {"NPS_REDSHIFT_IAM_ROLE": "arn:aws:iam::123456789012:role/copy"},
            "Redshift loads COPY from S3: set --lake / NPS_LAKE_URL to s3://bucket/prefix",
        ),
    ],
)
def test_a_redshift_load_that_cannot_work_is_refused_before_the_extract(
    duckdb_stack: Stack, tmp_path: Path, env: dict[str, str], message: str
) -> None:
    source = sqlite_source(tmp_path / "src.db", [(1, TS, TS, 0, 9)])
    duckdb_stack.target = "redshift"
    duckdb_stack.env.update({"NPS_REDSHIFT_HOST": "127.0.0.1", "NPS_REDSHIFT_PORT": "1", **env})
    os.environ.pop("NPS_REDSHIFT_IAM_ROLE", None)
    result = cli(duckdb_stack, source, "run", "--date", "2021-09-16", check=False)
    one_error_line(result, 2, message)
    assert not Path(duckdb_stack.lake).exists()
