"""Encrypted at rest: with NPS_LAKE_SSE every object the loader writes to S3 (Parquet parts,
the Redshift COPY manifest, the extract manifest, a reconcile's corrections) asks for
server-side encryption, checked object by object on moto's S3 server; a setting that cannot
apply is refused before anything is written."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.support.commands import cli
from tests.support.harness import Stack, environ
from tests.support.servers import S3Server
from tests.support.sources import sqlite_source
from tests.support.stacks import make_factory

D = dt.date(2021, 9, 16)
ROWS = [
    (n, "2021-09-16 10:00:00.000000", "2021-09-16 10:00:00.000000", 0, n % 11) for n in range(1, 6)
]


def _objects(stack: Stack) -> list[dict[str, object]]:
    import boto3

    bucket = stack.lake.removeprefix("s3://").split("/", 1)[0]
    with environ(stack.env):
        client = boto3.client("s3")
        keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
        return [{"Key": k, **client.head_object(Bucket=bucket, Key=k)} for k in keys]


def _loader(stack: Stack, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``nps-loader ARGS`` with ``env`` on top of the stack's, its failure returned, not raised."""
    return cli(stack, None, *args, check=False, env=env)


@pytest.mark.parametrize("sse", ["AES256", "aws:kms"])
def test_every_object_written_carries_server_side_encryption(
    sse: str, s3: S3Server, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    import boto3

    stack, _ = make_factory("duckdb-sqlite-s3", request)(tmp_path)
    source = sqlite_source(tmp_path / "src.db", ROWS)
    env = {"NPS_SOURCE_URL": source.url, "NPS_LAKE_SSE": sse}
    key_arn = None
    if sse == "aws:kms":
        with environ(stack.env):
            key_arn = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
        env["NPS_LAKE_KMS_KEY_ID"] = key_arn
    ran = _loader(stack, env, "run", "--date", str(D))
    assert ran.returncode == 0, ran.stderr
    source_conn = sqlite3.connect(tmp_path / "src.db")
    with source_conn:
        source_conn.execute("delete from nps where id = 1")  # a hard delete for reconcile
    source_conn.close()
    fixed = _loader(
        stack, env, "reconcile", "--start", str(D), "--end", str(D), "--apply", "--force"
    )
    assert fixed.returncode == 0, fixed.stderr
    objects = _objects(stack)
    keys = [str(o["Key"]) for o in objects]
    assert any("/reconcile/" in k for k in keys) and any(
        k.endswith("part-00000.parquet") for k in keys
    )
    assert any(k.endswith("copy.manifest") for k in keys) and any(
        k.endswith("_manifest.json") for k in keys
    )
    for obj in objects:
        assert obj.get("ServerSideEncryption") == sse, obj["Key"]
        if key_arn:
            assert obj.get("SSEKMSKeyId") == key_arn, obj["Key"]


def test_encryption_settings_that_cannot_apply_are_refused_in_one_line(tmp_path: Path) -> None:
    from tests.support.stacks import new_duckdb_stack

    stack = new_duckdb_stack(tmp_path / "duckdb")
    source = sqlite_source(tmp_path / "src.db", ROWS)
    cases = [
        ({"NPS_LAKE_SSE": "AES256"}, "NPS_LAKE_SSE=AES256 encrypts S3 objects, but --lake"),
        ({"NPS_LAKE_KMS_KEY_ID": "alias/nps"}, "NPS_LAKE_KMS_KEY_ID needs NPS_LAKE_SSE=aws:kms"),
        ({"NPS_LAKE_SSE": "aes256"}, "invalid value for '--lake-sse'"),
    ]
    for env, message in cases:
        result = _loader(stack, {"NPS_SOURCE_URL": source.url, **env}, "run", "--date", str(D))
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert not (tmp_path / "duckdb" / "lake").exists()
