"""The emulated Redshift's refusals, statement by statement (no server): each rule of
dev/redshift_emulator/rules.py refuses an example, names the construct and cites its AWS page;
what Redshift accepts passes, and a word inside a string or a comment never trips a rule."""

from __future__ import annotations

import pytest

from dev.redshift_emulator import rules, translate
from dev.redshift_emulator.rules import CORRELATED_RULES, TOKEN_RULES, Refused

#: One statement per rule that PostgreSQL accepts and Redshift refuses (the integration test
#: runs each on PostgreSQL to show it is accepted there).
EXAMPLES: dict[str, str] = {
    "STRING_AGG()": "select string_agg(name, ',') from t",
    "ARRAY_AGG()": "select array_agg(id) from t",
    "GENERATE_SERIES()": "select * from generate_series(1, 3)",
    "PG_ADVISORY_XACT_LOCK()": "select pg_advisory_xact_lock(1)",
    "IS DISTINCT FROM": "select 1 from t where a is distinct from b",
    "IS NOT DISTINCT FROM": "select 1 from t where a is not distinct from b",
    "SELECT DISTINCT ON (...)": "select distinct on (id) id, name from t order by id",
    "an aggregate's FILTER (WHERE ...)": "select count(*) filter (where id > 1) from t",
    "INSERT ... ON CONFLICT": "insert into t (id) values (1) on conflict do nothing",
    "ALTER TABLE ... ADD COLUMN IF NOT EXISTS": "alter table t add column if not exists x int",
    "CREATE INDEX": "create index t_id on t (id)",
    "CREATE SEQUENCE": "create sequence s",
    "the JSONB type": "select cast('{}' as jsonb)",
    "a recursive CTE joined by UNION (only UNION ALL)": (
        "with recursive r (n) as (select 1 union select n + 1 from r where n < 3) select n from r"
    ),
    "a correlation reference that skips a query block": (
        "select t.id from t where not exists (select 1 from u where not exists "
        "(select 1 from v where v.id = t.id))"
    ),
    "a correlation reference from a subquery in an outer join's ON clause": (
        "select * from t left join u on t.id = u.id and u.name = "
        "(select max(v.name) from v where v.id = u.id)"
    ),
    "a correlation reference from a subquery with a window function": (
        "select t.id from t where t.name not in "
        "(select max(v.name) over () from v where v.id = t.id)"
    ),
    "a correlated subquery inside an OR": (
        "select t.id from t where t.name = 'x' or exists (select 1 from u where u.id = t.id)"
    ),
}


@pytest.mark.parametrize(("what", "sql"), sorted(EXAMPLES.items()))
def test_each_refusal_names_the_construct_and_its_aws_page(what: str, sql: str) -> None:
    with pytest.raises(Refused) as refused:
        rules.check(sql)
    assert refused.value.rule.what == what
    assert refused.value.rule.page.startswith("https://docs.aws.amazon.com/redshift/latest/dg/")
    assert refused.value.rule.page in str(refused.value) and what in str(refused.value)


def test_every_rule_in_the_table_cites_an_aws_page() -> None:
    for rule in (*TOKEN_RULES, *CORRELATED_RULES):
        assert rule.page.startswith("https://docs.aws.amazon.com/redshift/latest/dg/"), rule


@pytest.mark.parametrize(
    "sql",
    [
        # what the project and dbt-redshift send
        "select a.x from a where exists (select 1 from b where b.id = a.id)",
        "with r as (select * from t) select r.id from r left join u on r.id = u.id "
        "where u.id is null or r.x > 0",
        "select dateadd(minute, -60, coalesce(max(_seen_through), getdate())) from t",
        "select convert_timezone('UTC', 'Asia/Seoul', created_at) from t",
        "select listagg(name, ',') within group (order by name) from t",
        "create table t diststyle key distkey (id) compound sortkey (a, b) as (select 1 as id)",
        "with recursive r (n) as (select 1 union all select n + 1 from r where n < 3) select n from r",
        # the words inside strings and comments are not constructs
        "select 'string_agg( is distinct from' as x -- generate_series(\n from t",
    ],
)
def test_what_redshift_accepts_passes(sql: str) -> None:
    rules.check(sql)


def test_redshift_table_attributes_and_bare_date_parts_translate_to_postgresql() -> None:
    sql = (
        'create table "db"."s"."t" diststyle key distkey (id) compound sortkey(_batch_at) '
        "as (select dateadd(minute, -60, getdate()) as at, datediff(day, a, b) as days from u)"
    )
    assert translate.to_postgres(sql) == (
        'create table "db"."s"."t"    as (select dateadd(\'minute\', -60, getdate()) as at, '
        "datediff('day', a, b) as days from u)"
    )
    assert translate.to_postgres("create view v as select 1 with no schema binding").strip() == (
        "create view v as select 1"
    )


def test_dbt_redshift_keeps_its_transactions_whatever_its_default_becomes() -> None:
    """dbt-redshift's behaviour flag redshift_skip_autocommit_transaction_statements, turned on,
    drops BEGIN/COMMIT around the models: the delete+insert steps and the in-place rebuild
    would each commit statement by statement and readers would see tables half-replaced. The
    project pins it off."""
    from pathlib import Path

    import yaml

    project = yaml.safe_load((Path(__file__).resolve().parents[2] / "dbt_project.yml").read_text())
    assert project["flags"]["redshift_skip_autocommit_transaction_statements"] is False


# --- what a statement reads of the big tables (dev/redshift_emulator/zone_maps.py) ------------

WHOLE_TABLE = {
    # the watermark as a subquery: a zone map has no bound to compare blocks with
    "watermark subquery": (
        "select * from raw.nps where _loaded_at > "
        "(select max(_seen_through) from analytics.int_nps_responses_current)"
    ),
    # dbt's own delete+insert: a join on the unique key alone
    "delete+insert on the key": (
        "delete from analytics.int_nps_responses_current where (id) in "
        "(select distinct id from int_nps_responses_current__dbt_tmp)"
    ),
    # the version lookup joined on id alone
    "lookup on id": (
        "select b.* from batch as b left join analytics.int_nps_responses_current as s "
        "on b.id = s.id"
    ),
    "id list through a subquery": (
        "select * from analytics.int_nps_responses_current where id in (select id from nps_ids)"
    ),
    "a bound on another column": "select * from raw.nps where created_at >= '2021-09-01'",
    "one arm of an OR bounded": (
        "select * from raw.nps where _run_date = '2021-09-01' or created_at > '2021-09-01'"
    ),
    "a test over every row": (
        "select id from (select * from analytics.int_nps_responses_current) dbt_subquery "
        "where id is null"
    ),
}

PRUNED = {
    "literal watermark": "select * from raw.nps where _loaded_at > cast('2021-09-16 10:00' as timestamp)",
    "load days": "select * from raw.nps where _run_date between '2021-09-01' and '2021-09-02'",
    "delete naming the days": (
        "delete from analytics.int_nps_responses_current where (id) in "
        "(select distinct id from t) and (response_date in (cast('2021-09-01' as date)) "
        "or response_date is null)"
    ),
    "lookup within id ranges": (
        "select b.* from batch as b left join analytics.int_nps_responses_current as s "
        "on b.id = s.id and (s.id between 1 and 9 or s.id between 100 and 120)"
    ),
    "the batch's changes": (
        "select response_date from analytics.int_nps_responses_current "
        "where _batch_at > cast('2021-09-16' as timestamp)"
    ),
    "a test of the load day": (
        "select id from (select * from raw.nps where _run_date between cast('2021-09-16' as date) "
        "and cast('2021-09-16' as date)) dbt_subquery where id is null"
    ),
}


@pytest.mark.parametrize("name", sorted(WHOLE_TABLE))
def test_a_read_without_a_literal_bound_on_a_pruning_column_reads_the_whole_table(
    name: str,
) -> None:
    from dev.redshift_emulator.zone_maps import reads

    found = reads(WHOLE_TABLE[name])
    assert found and not all(r.pruned for r in found), found


@pytest.mark.parametrize("name", sorted(PRUNED))
def test_a_literal_bound_on_the_sort_key_prunes(name: str) -> None:
    from dev.redshift_emulator.zone_maps import reads

    found = reads(PRUNED[name])
    assert found and all(r.pruned for r in found), found


def test_the_rows_an_insert_writes_are_not_a_read() -> None:
    from dev.redshift_emulator.zone_maps import reads

    assert reads("insert into raw.nps (id) (select id from staging)") == []


def test_vacuum_delete_only_runs_as_postgresql_vacuum() -> None:
    assert translate.to_postgres("vacuum delete only analytics.t to 100 percent").strip() == (
        "vacuum analytics.t"
    )


def test_id_ranges_cover_every_id_and_split_at_the_widest_gaps() -> None:
    from loader.warehouse import id_ranges

    assert id_ranges([], "id") == "1 = 0"
    assert id_ranges([5, 3, 4], "id") == "(id between 3 and 5)"
    ids = [1, 2, 3, 50, 51, 1000, 1001, 5000]
    assert id_ranges(ids, "s.id", max_ranges=3) == (
        "(s.id between 1 and 51 or s.id between 1000 and 1001 or s.id between 5000 and 5000)"
    )
    many = list(range(0, 100_000, 7))
    predicate = id_ranges(many, "id")
    assert predicate.count("between") == 64
