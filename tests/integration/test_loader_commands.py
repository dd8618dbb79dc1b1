"""The loader's commands on a DuckDB warehouse and a SQLite source, each run as a user runs it:
extracts, manifests, loads and their refusals."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from loader.errors import LakeError, SourceError
from loader.lake import LocalLake
from loader.lake.manifest import manifest_key
from loader.lake.reader import read_manifest
from loader.settings import source_spec
from loader.source import EXTRACT_SCHEMA
from tests.support.commands import cli, one_error_line
from tests.support.harness import Stack
from tests.support.sources import SqliteSource

D = dt.date(2021, 9, 16)
ROW = (1, "2021-09-16 10:00:00.000001", "2021-09-16 10:00:00.000001", 0, 9)


def _source(tmp_path: Path, rows: list[tuple[object, ...]], ddl: str | None = None) -> SqliteSource:
    path = tmp_path / "src.db"
    conn = sqlite3.connect(path)
    conn.execute(
        ddl
        or "create table nps (id integer, created_at text, modified text, deleted integer, score integer)"
    )
    if rows:
        conn.executemany(f"insert into nps values ({', '.join('?' * len(rows[0]))})", rows)
    conn.commit()
    conn.close()
    return SqliteSource(path)


def _loaded(
    duckdb_stack: Stack, tmp_path: Path
) -> tuple[SqliteSource, LocalLake, list[tuple[object, ...]]]:
    source = _source(tmp_path, [ROW])
    duckdb_stack.run_day(source, D)
    return (
        source,
        LocalLake(Path(duckdb_stack.lake)),
        duckdb_stack.query("select * from raw.nps order by id"),
    )


def test_extract_writes_parts_then_manifest_with_checksums(
    duckdb_stack: Stack, tmp_path: Path
) -> None:
    edge = (
        2,
        "2021-09-15 23:00:00.000000",
        "2021-09-15 23:00:00.000000",
        0,
        5,
    )  # window start: included
    outside = (
        3,
        "2021-09-17 00:00:00.000000",
        "2021-09-17 00:00:00.000000",
        0,
        5,
    )  # window end: excluded
    before = (4, "2021-09-15 22:59:59.999999", "2021-09-15 22:59:59.999999", 0, 5)
    source = _source(tmp_path, [ROW, edge, outside, before])
    duckdb_stack.run_day(source, D)
    lake = LocalLake(Path(duckdb_stack.lake))
    manifest = read_manifest(lake, D)
    assert manifest.rows == 2
    assert (manifest.window_start, manifest.window_end) == (
        dt.datetime(2021, 9, 15, 23),
        dt.datetime(2021, 9, 17),
    )
    part = Path(duckdb_stack.lake) / manifest.files[0].key
    table = pq.read_table(part)
    assert table.schema.equals(EXTRACT_SCHEMA)
    assert sorted(table.column("id").to_pylist()) == [1, 2]
    assert table.column("created_at").to_pylist()[0].microsecond in (0, 1)
    copy_manifest = json.loads((part.parent / "copy.manifest").read_text())
    assert copy_manifest["entries"][0]["meta"]["content_length"] == part.stat().st_size
    assert f"extract_id={manifest.extract_id}" in manifest.files[0].key


def test_rerunning_a_day_replaces_it_and_never_duplicates(
    duckdb_stack: Stack, tmp_path: Path
) -> None:
    source = _source(tmp_path, [ROW, (2, *ROW[1:])])
    for _ in range(3):
        result = duckdb_stack.run_day(source, D)
    assert (result.rows, result.replaced_rows) == (2, 2)
    assert duckdb_stack.query("select count(*) from raw.nps")[0][0] == 2
    assert duckdb_stack.query("select count(*) from raw.nps_loads")[0][0] == 3


def test_a_null_id_fails_and_nothing_is_written(duckdb_stack: Stack, tmp_path: Path) -> None:
    source = _source(tmp_path, [ROW, (None, *ROW[1:])])
    with pytest.raises(SourceError, match="null id"):
        duckdb_stack.run_day(source, D)
    assert not (Path(duckdb_stack.lake) / manifest_key(D)).exists()


def test_a_missing_column_or_table_is_a_clear_error(duckdb_stack: Stack, tmp_path: Path) -> None:
    source = _source(
        tmp_path,
        [],
        ddl="create table nps (id integer, created_at text, modified text, score integer)",
    )
    with pytest.raises(SourceError, match="has no column deleted"):
        duckdb_stack.run_day(source, D)
    source.table = "answers"
    with pytest.raises(SourceError, match="does not exist"):
        duckdb_stack.run_day(source, D)


def test_source_without_soft_delete_flag_or_modified_column(
    duckdb_stack: Stack, tmp_path: Path
) -> None:
    from loader import pipeline
    from tests.support.harness import environ

    source = _source(
        tmp_path,
        [(1, "2021-09-16 10:00:00.000000", 9)],
        ddl="create table nps (id integer, created_at text, score integer)",
    )
    settings = duckdb_stack.settings(source)
    spec = source_spec(source.url, cursor_column="created_at", deleted_column="none")
    with environ(duckdb_stack.full_env):
        pipeline.run(settings.__class__(**{**settings.__dict__, "source": spec}), D)
    assert duckdb_stack.query("select id, modified, deleted from raw.nps") == [
        (1, dt.datetime(2021, 9, 16, 10), False)
    ]


def test_a_tampered_extract_is_refused_and_the_warehouse_is_untouched(
    duckdb_stack: Stack, tmp_path: Path
) -> None:
    from loader import pipeline
    from tests.support.harness import environ

    source, lake, before = _loaded(duckdb_stack, tmp_path)
    manifest = read_manifest(lake, D)
    part = Path(duckdb_stack.lake) / manifest.files[0].key
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    with environ(duckdb_stack.full_env), pytest.raises(LakeError, match="checksum"):
        pipeline.load(duckdb_stack.settings(source), D)
    part.write_bytes(bytes(data[:100]))  # truncated
    with environ(duckdb_stack.full_env), pytest.raises(LakeError, match="checksum"):
        pipeline.load(duckdb_stack.settings(source), D)
    assert duckdb_stack.query("select * from raw.nps order by id") == before


def test_a_missing_manifest_says_to_extract_first(duckdb_stack: Stack, tmp_path: Path) -> None:
    from loader import pipeline
    from tests.support.harness import environ

    source = _source(tmp_path, [ROW])
    with (
        environ(duckdb_stack.full_env),
        pytest.raises(LakeError, match="nps-loader extract --date 2021-09-16"),
    ):
        pipeline.load(duckdb_stack.settings(source), D)


def test_cli_errors_are_one_line_with_exit_code_and_no_traceback(
    duckdb_stack: Stack, tmp_path: Path
) -> None:
    source = _source(tmp_path, [ROW])
    cases = [
        (["run", "--date", "2021-13-45"], 2, "--date is not a real date"),
        (["backfill", "--start", "2021-09-05", "--end", "2021-09-01"], 2, "before --start"),
        (
            ["run", "--date", "2021-09-16", "--source-table", "nps;drop"],
            2,
            "not a plain identifier",
        ),
        (["run", "--date", "2021-09-16", "--raw-schema", "raw;drop"], 2, "not a plain identifier"),
        (["load", "--date", "2021-09-17"], 1, "no extract of 2021-09-17"),
        (["run", "--date", "2021-09-16", "--source", "postgres://x/y"], 2, "--source must be"),
    ]
    for args, code, message in cases:
        one_error_line(cli(duckdb_stack, source, *args, check=False), code, message)


def test_an_empty_day_is_a_noop_that_says_so(duckdb_stack: Stack, tmp_path: Path) -> None:
    source = _source(tmp_path, [ROW])
    result = cli(duckdb_stack, source, "run", "--date", "2021-09-20")
    assert "0 rows" in result.stdout and "empty" in result.stdout
    # the day is loaded (a load record of 0 rows, so dbt and verify see it as loaded), with no row
    loads = duckdb_stack.query(
        "select rows_loaded, rows_replaced, kind from raw.nps_loads where run_date = '2021-09-20'"
    )
    assert loads == [(0, 0, "day")]
    assert duckdb_stack.query("select count(*) from raw.nps where _run_date = '2021-09-20'") == [
        (0,)
    ]


def test_each_command_shows_only_its_options_and_speaks_json(
    duckdb_stack: Stack, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from loader.cli import main

    runner = CliRunner()
    shown = {
        command: runner.invoke(main, [command, "--help"]).output
        for command in ("extract", "load", "run", "backfill", "verify", "demo-source")
    }
    assert "--source " not in shown["load"] and "--lookback" not in shown["load"]
    assert "--profiles-dir" not in shown["extract"] and "--raw-schema" not in shown["extract"]
    assert "--lake" not in shown["verify"] and "--lookback" not in shown["verify"]
    assert all("--json" in text for text in shown.values())
    assert "Required." in shown["run"] and "Required." in shown["verify"]

    source = _source(tmp_path, [ROW])
    one = cli(duckdb_stack, source, "backfill", "--start", "2021-09-16", "--end", "2021-09-16")
    assert "backfilled 1 day 2021-09-16..2021-09-16" in one.stdout
    failed = cli(duckdb_stack, source, "load", "--date", "2021-09-10", "--json", check=False)
    assert failed.returncode == 1
    error = json.loads(failed.stdout)
    assert error["ok"] is False and error["exit_code"] == 1 and "no extract of" in error["error"]
    made = cli(
        duckdb_stack,
        None,
        "demo-source",
        "--path",
        str(tmp_path / "demo.db"),
        "--days",
        "1",
        "--per-day",
        "5",
        "--json",
    )
    assert json.loads(made.stdout)["command"] == "demo-source"
