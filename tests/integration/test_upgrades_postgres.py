"""A PostgreSQL warehouse of the first revision, B-tree indexes included, opened by this loader:
the raw tables get every later column and the BRIN indexes, the B-trees go, the rows stay
(loader/upgrade.py)."""

from __future__ import annotations

import psycopg2

from loader.dbt_profile import Target
from loader.tables import NPS_LOADS, RAW_NPS, create_table
from loader.upgrade import STEPS
from loader.warehouse import open_warehouse
from tests.support.servers import Postgres

ADDED = {c.name for step in STEPS for c in step.columns}


def test_a_postgres_warehouse_of_the_first_revision_is_upgraded_when_opened(
    postgres: Postgres,
) -> None:
    conn = psycopg2.connect(postgres.url())
    with conn, conn.cursor() as cur:
        cur.execute("drop schema if exists raw_old cascade; create schema raw_old")
        for name, columns in (("nps", RAW_NPS), ("nps_loads", NPS_LOADS)):
            first = tuple(c for c in columns if c.name not in ADDED)
            cur.execute(create_table(f"raw_old.{name}", first))
        cur.execute("create index nps_run_date_idx on raw_old.nps (_run_date)")
        cur.execute("create index nps_loaded_at_idx on raw_old.nps (_loaded_at)")
        cur.execute(
            "insert into raw_old.nps_loads values ('2021-06-30', 'old', 1, 0, 1, 1, "
            "'2021-06-29 23:00', '2021-07-01 00:00', '0.0.1', '2021-07-01 00:05')"
        )
    target = Target(
        "postgres",
        "postgres",
        {
            "host": "127.0.0.1",
            "port": postgres.port,
            "user": postgres.user,
            "password": postgres.password,
            "dbname": postgres.database,
            "schema": "analytics",
        },
    )
    open_warehouse(target, "raw_old").close()
    with conn, conn.cursor() as cur:
        for name, columns in (("nps", RAW_NPS), ("nps_loads", NPS_LOADS)):
            cur.execute(
                "select column_name from information_schema.columns where table_schema = "
                "'raw_old' and table_name = %s order by ordinal_position",
                (name,),
            )
            assert [r[0] for r in cur.fetchall()] == [c.name for c in columns]
        cur.execute("select indexname from pg_indexes where schemaname = 'raw_old' order by 1")
        assert [r[0] for r in cur.fetchall()] == ["nps_loaded_at_brin", "nps_run_date_brin"]
        cur.execute("select extract_id, kind from raw_old.nps_loads")
        assert cur.fetchall() == [("old", None)]  # a day's load: loader/upgrade.py's rule
        cur.execute("drop schema raw_old cascade")
    conn.close()
