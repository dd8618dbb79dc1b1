"""Redshift SQL to PostgreSQL, for the statements Redshift accepts (rules.check runs first).

Only what differs is rewritten, on the statement's text: Redshift's table attributes (which
PostgreSQL has no use for: the emulator stores no blocks), the date parts Redshift takes as bare
words, and late-binding views. Redshift's functions themselves (dateadd, datediff,
convert_timezone, getdate, nvl, listagg, pg_last_copy_count) and system views are created in the
database by catalog.sql, with Redshift's results.
"""

from __future__ import annotations

import re

_FLAGS = re.IGNORECASE

_ATTRIBUTE_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    # CREATE TABLE attributes: DISTSTYLE, DISTKEY, [COMPOUND | INTERLEAVED] SORTKEY, BACKUP
    (re.compile(r"\bdiststyle\s+(even|key|all|auto)\b", _FLAGS), ""),
    (re.compile(r"\bdistkey\s*\(\s*[\w\"]+\s*\)", _FLAGS), ""),
    (re.compile(r"\b(compound\s+|interleaved\s+)?sortkey\s*\([^)]*\)", _FLAGS), ""),
    (re.compile(r"\bsortkey\s+auto\b", _FLAGS), ""),
    (re.compile(r"\bbackup\s+(yes|no)\b", _FLAGS), ""),
    # column attributes
    (
        re.compile(
            r"\bencode\s+(raw|az64|bytedict|delta|delta32k|lzo|mostly8|mostly16|mostly32|runlength|text255|text32k|zstd|auto)\b",
            _FLAGS,
        ),
        "",
    ),
    (re.compile(r"(?<![\w.])distkey(?=\s*[,)])", _FLAGS), ""),
    (re.compile(r"(?<![\w.])sortkey(?=\s*[,)])", _FLAGS), ""),
)

_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    *_ATTRIBUTE_REWRITES,
    # late-binding views: PostgreSQL binds every view
    (re.compile(r"\bwith\s+no\s+schema\s+binding\b", _FLAGS), ""),
    # DATEADD(day, n, ts), DATEDIFF(hour, a, b), DATE_PART(month, ts): a bare date part
    (
        re.compile(r"\b(dateadd|datediff|date_add|date_diff)\s*\(\s*([a-z_]+)\s*,", _FLAGS),
        r"\1('\2',",
    ),
    (re.compile(r"\bsysdate\b", _FLAGS), "getdate()"),
    # VACUUM [FULL | SORT ONLY | DELETE ONLY | REINDEX | RECLUSTER] [table [TO n PERCENT] [BOOST]]:
    # PostgreSQL's plain VACUUM reclaims the deleted rows' space as DELETE ONLY does
    (
        re.compile(
            r"(?<![\w.])vacuum\s+(full|sort\s+only|delete\s+only|reindex|recluster)\b", _FLAGS
        ),
        "vacuum",
    ),
    (re.compile(r"\s+to\s+\d+\s+percent(\s+boost)?\s*$", _FLAGS), ""),
    # Redshift's system views and functions live in pg_catalog there, in public here
    (
        re.compile(
            r"\bpg_catalog\.(svv_\w+|stl_\w+|stv_\w+|pg_get_late_binding_view_cols)\b", _FLAGS
        ),
        r"public.\1",
    ),
)


def strip_table_attributes(sql: str) -> str:
    """``sql`` without DISTSTYLE, DISTKEY, SORTKEY, BACKUP and ENCODE."""
    for pattern, replacement in _ATTRIBUTE_REWRITES:
        sql = pattern.sub(replacement, sql)
    return sql


def to_postgres(sql: str) -> str:
    for pattern, replacement in _REWRITES:
        sql = pattern.sub(replacement, sql)
    return sql
