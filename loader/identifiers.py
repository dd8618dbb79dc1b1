"""Identifiers given on the command line: validated, never formatted into SQL raw."""

from __future__ import annotations

import re

from loader.errors import ConfigError

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_WAREHOUSE_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,63}")

#: Words reserved by PostgreSQL, DuckDB or Redshift: unquoted, they are a syntax error on at
#: least one target, so a warehouse name that is one is refused on all of them. (Redshift's list
#: also has RAW, the SPEC's default raw schema; it is left out: Redshift accepts it as a schema
#: name in the statements the loader writes, and refusing it would refuse the default.)
RESERVED_WORDS = frozenset(
    """
    aes128 aes256 all allowoverwrite analyse analyze and any array as asc asymmetric
    authorization az64 backup between binary blanksasnull both bytedict bzip2 case cast check
    collate collation column concurrently constraint create credentials cross current_catalog
    current_date current_role current_schema current_time current_timestamp current_user
    current_user_id default deferrable deflate defrag delta delta32k desc describe disable
    distinct do else emptyasnull enable encode encrypt encryption end except explicit false
    fetch for foreign freeze from full globaldict256 globaldict64k grant group gzip having
    identity ignore ilike in initially inner intersect interval into is isnull join lambda
    lateral leading left like limit localtime localtimestamp lun luns lzo lzop minus mostly16
    mostly32 mostly8 natural new not notnull null nulls off offline offset oid old on only open
    or order outer overlaps parallel partition percent permissions pivot pivot_longer
    pivot_wider placing primary qualify readratio recover references rejectlog resort respect
    restore returning right select session_user show similar snapshot some summarize symmetric
    sysdate system system_user table tablesample tag tdes text255 text32k then timestamp to top
    trailing true truncatecolumns union unique unnest unpivot user using variadic verbose
    wallet when where window with without
    """.split()  # noqa: SIM905 (one word list, read as prose)
)


def validate_identifier(value: str, what: str) -> str:
    """Accept plain identifiers only (letters, digits, underscore; at most 64)."""
    if not _IDENTIFIER.fullmatch(value):
        raise ConfigError(
            f"{what} {value!r} is not a plain identifier (letters, digits, underscore; max 64)"
        )
    return value


def validate_warehouse_identifier(value: str, what: str) -> str:
    """A schema name the loader writes unquoted on every target: lower case (PostgreSQL and
    Redshift fold unquoted names to lower case, drivers that quote them do not) and not a
    reserved word."""
    validate_identifier(value, what)
    if not _WAREHOUSE_IDENTIFIER.fullmatch(value):
        raise ConfigError(
            f"{what} {value!r} has upper-case letters: PostgreSQL and Redshift fold unquoted "
            f"names to lower case, so use {value.lower()!r}"
        )
    if value in RESERVED_WORDS:
        raise ConfigError(
            f"{what} {value!r} is a reserved word in SQL (PostgreSQL, DuckDB or Redshift); "
            "choose another name, e.g. raw or nps_raw"
        )
    return value
