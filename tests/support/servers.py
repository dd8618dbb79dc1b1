"""The real servers for the tests (dev/servers.py), with the tests' rule for a missing one:
when CI=true it fails the run, elsewhere its tests are skipped."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dev.servers import (
    IS_ROOT,
    MYSQL_PASSWORD,
    PG_PASSWORD,
    MariaDB,
    Postgres,
    S3Server,
    ServerUnavailable,
    TlsFiles,
    free_port,
)
from dev.servers import make_tls_files as _make_tls_files
from dev.servers import mariadb_server as _mariadb_server
from dev.servers import postgres_server as _postgres_server
from dev.servers import s3_server as _s3_server

__all__ = [
    "IN_CI",
    "IS_ROOT",
    "MYSQL_PASSWORD",
    "PG_PASSWORD",
    "MariaDB",
    "Postgres",
    "S3Server",
    "TlsFiles",
    "free_port",
    "make_tls_files",
    "mariadb_server",
    "postgres_server",
    "s3_server",
    "unavailable",
]


IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a missing server is a failure)")
    pytest.skip(message)


@contextlib.contextmanager
def _or_unavailable(server: contextlib.AbstractContextManager[object]) -> Iterator[object]:
    try:
        started = server.__enter__()
    except ServerUnavailable as exc:
        unavailable(str(exc))
        raise  # unreachable: unavailable() always raises
    with contextlib.ExitStack() as stack:
        stack.push(server)
        yield started


def make_tls_files(folder: Path) -> TlsFiles:
    try:
        return _make_tls_files(folder)
    except ServerUnavailable as exc:
        unavailable(str(exc))
        raise


@contextlib.contextmanager
def postgres_server(tls: TlsFiles | None = None) -> Iterator[Postgres]:
    with _or_unavailable(_postgres_server(tls)) as server:
        assert isinstance(server, Postgres)
        yield server


@contextlib.contextmanager
def mariadb_server(tls: TlsFiles | None = None) -> Iterator[MariaDB]:
    with _or_unavailable(_mariadb_server(tls)) as server:
        assert isinstance(server, MariaDB)
        yield server


@contextlib.contextmanager
def s3_server(enforce_auth: bool = False) -> Iterator[S3Server]:
    with _or_unavailable(_s3_server(enforce_auth)) as server:
        assert isinstance(server, S3Server)
        yield server
