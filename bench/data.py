"""Synthetic production tables generated inside MariaDB (Sequence engine) and raw history inside
the warehouse, at benchmark sizes, in seconds rather than hours."""

from __future__ import annotations

from typing import Any

DAY = "2021-06-01"


def make_source_table(conn: Any, name: str, rows: int, days: int) -> None:
    """``rows`` answers spread evenly over ``days`` days ending on 2021-06-01 (by ``modified``)."""
    seconds = days * 86_400
    with conn.cursor() as cur:
        cur.execute(f"drop table if exists {name}")
        cur.execute(
            f"create table {name} (id bigint primary key, created_at datetime(6), "
            "modified datetime(6) not null, deleted boolean not null default 0, score smallint, "
            "key (modified))"
        )
        chunk = 1_000_000
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            cur.execute(
                f"insert into {name} select seq, "
                f"timestamp '{DAY} 00:00:00' + interval 1 day - interval {seconds} second "
                f"  + interval floor(seq * {seconds} / {rows}) second - interval (seq % 3) day, "
                f"timestamp '{DAY} 00:00:00' + interval 1 day - interval {seconds} second "
                f"  + interval floor(seq * {seconds} / {rows}) second + interval (seq % 999983) microsecond, "
                "seq % 97 = 0, (seq * 7919) % 11 "
                f"from seq_{start + 1}_to_{start + n}"
            )
    conn.commit()
