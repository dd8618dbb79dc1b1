"""The real command lines, as a user runs them (nps-loader, dbt, each in its own process), and
what a test checks of them."""

from __future__ import annotations

import os
import subprocess
from typing import Any

from tests.support.harness import ROOT, Stack
from tests.support.sources import TestSource


def cli(
    stack: Stack,
    source: TestSource | None,
    *args: str,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``nps-loader ARGS`` in its own process, with this stack's environment (and ``env``)."""
    result = subprocess.run(
        [*stack.command("nps-loader"), *args],
        cwd=ROOT,
        env={**stack.loader_env(source), **(env or {})},
        capture_output=True,
        text=True,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"nps-loader {' '.join(args)} failed:\n{result.stderr}")
    return result


def spawn(stack: Stack, source: TestSource, *args: str) -> subprocess.Popen[bytes]:
    """``nps-loader ARGS`` started in the background (to be killed or raced)."""
    return subprocess.Popen(
        [*stack.command("nps-loader"), *args],
        cwd=ROOT,
        env=stack.loader_env(source),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def dbt_process(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """``dbt ARGS`` in its own process, output captured. (In-process dbt keeps a DuckDB file
    open, which locks out other processes.)"""
    env = {**os.environ, **stack.full_env}
    return subprocess.run(
        [*stack.command("dbt"), *stack.dbt_args(*args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def dbt_cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """``dbt ARGS`` in its own process; a failure fails the test with dbt's output."""
    result = dbt_process(stack, *args)
    if result.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{result.stdout[-3000:]}")
    return result


def one_error_line(result: Any, code: int, message: str) -> str:
    """The failure every command gives: exit ``code``, one error line on stderr naming
    ``message`` (after any warning lines), no traceback. ``result``: a finished process or a
    click CliRunner result. Returns the error line."""
    lines = [
        line for line in result.stderr.strip().splitlines() if "nps-loader: warning:" not in line
    ]
    exit_code = result.returncode if hasattr(result, "returncode") else result.exit_code
    assert exit_code == code, result.stderr
    assert len(lines) == 1, result.stderr
    assert message in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


def read_extract(lake: Any, manifest: Any) -> Any:
    """A whole extract as one table, each part checked as a load checks it (small days only)."""
    import pyarrow as pa

    from loader.lake.reader import Extract
    from loader.tables import EXTRACT_SCHEMA

    return pa.Table.from_batches(list(Extract(lake, manifest).batches()), schema=EXTRACT_SCHEMA)
