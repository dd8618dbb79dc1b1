"""`nps-loader verify` catches a corrupted warehouse; secrets reach no log, error or lake file."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from loader.demo import generate_events, state_as_of
from tests.support.commands import cli, dbt_cli
from tests.support.harness import environ
from tests.support.servers import MYSQL_PASSWORD, PG_PASSWORD
from tests.support.stacks import make_factory

START = dt.date(2021, 6, 1)
END = dt.date(2021, 6, 5)


@pytest.mark.slow
@pytest.mark.parametrize("combo", ["duckdb-sqlite-local", "postgres-mysql-s3"])
def test_verify_reports_the_days_that_differ(
    combo: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    stack, source = make_factory(combo, request)(tmp_path)
    source.write(state_as_of(generate_events(4, START, 5, 60), None).values())
    cli(stack, source, "backfill", "--start", str(START), "--end", str(END))
    dbt_cli(stack, "run")
    ok = cli(stack, source, "verify", "--start", str(START), "--end", str(END), "--json")
    assert json.loads(ok.stdout)["mismatches"] == 0

    # Production moves on after the load (a response of 3 June deleted at 00:10 on 6 June):
    # not loaded yet, so not a difference.
    later = dt.datetime(2021, 6, 6, 0, 10)
    state = state_as_of(generate_events(4, START, 5, 60), None)
    victim = next(
        e
        for e in state.values()
        if e.created_at
        and e.created_at.date() == dt.date(2021, 6, 3)
        and not e.deleted
        and e.score is not None
        and 0 <= e.score <= 10
    )
    state[victim.id] = victim.__class__(
        victim.id, victim.created_at, later, True, victim.score, later
    )
    source.write(state.values())
    still = cli(stack, source, "verify", "--start", str(START), "--end", str(END))
    assert "5 days match the source" in still.stdout

    stack.query(
        f"update {stack.schema}.int_nps_daily_counts set promoters = promoters + 1 where response_date = '2021-06-03'"
    )
    bad = cli(stack, source, "verify", "--start", str(START), "--end", str(END), check=False)
    assert bad.returncode == 1
    # one place (stdout): the summary, every differing day, what to run next
    assert "2021-06-03: source has promoters/passives/detractors" in bad.stdout
    assert "2021-06-02" not in bad.stdout and "1 of 5 days differ" in bad.stdout
    assert (
        "next: nps-loader reconcile --start 2021-06-03 --end 2021-06-03" in bad.stdout
        and not bad.stderr
    )


@pytest.mark.slow
def test_passwords_never_reach_logs_errors_or_the_lake(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    stack, source = make_factory("postgres-mysql-s3", request)(tmp_path)
    source.write(state_as_of(generate_events(6, START, 3, 60), None).values())
    secrets = [MYSQL_PASSWORD, PG_PASSWORD, stack.env["AWS_SECRET_ACCESS_KEY"]]
    outputs = [
        cli(stack, source, "backfill", "--start", str(START), "--end", "2021-06-03"),
        dbt_cli(stack, "build"),
        cli(stack, source, "verify", "--start", str(START), "--end", "2021-06-03"),
        cli(stack, source, "run", "--date", "2021-06-02", "--debug"),
        # failures, where a careless error message would echo a connection string
        cli(
            stack,
            source,
            "run",
            "--date",
            "2021-06-02",
            "--source",
            f"mysql://nps_reader:{MYSQL_PASSWORD}@127.0.0.1:1/prod",
            check=False,
        ),
        cli(
            stack,
            source,
            "run",
            "--date",
            "2021-06-02",
            "--source",
            f"mysql://nobody:{MYSQL_PASSWORD}x@127.0.0.1:{source.url.rsplit(':', 1)[1]}",
            check=False,
        ),
    ]
    saved = stack.env["NPS_PG_PORT"]
    stack.env["NPS_PG_PORT"] = "1"
    outputs.append(cli(stack, source, "run", "--date", "2021-06-02", check=False))
    stack.env["NPS_PG_PORT"] = saved
    assert all(o.returncode != 0 for o in outputs[4:])

    texts = [o.stdout + o.stderr for o in outputs]
    texts += [
        p.read_text(errors="replace")
        for p in (stack.workdir / "dbt-logs").rglob("*")
        if p.is_file()
    ]
    texts += [
        p.read_text(errors="replace")
        for p in (stack.workdir / "dbt-target").rglob("*.json")
        if p.is_file()
    ]
    import boto3

    bucket, _ = stack.lake[5:].split("/", 1)
    with environ(stack.full_env):
        s3 = boto3.client("s3")
        for obj in s3.list_objects_v2(Bucket=bucket)["Contents"]:
            texts.append(
                s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read().decode("latin-1")
            )
    assert len(texts) > 10
    for secret in secrets:
        leaks = [t[max(0, t.find(secret) - 80) : t.find(secret) + 20] for t in texts if secret in t]
        assert not leaks, f"a secret leaked: {leaks[:2]}"
