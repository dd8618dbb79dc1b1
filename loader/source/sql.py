"""The SQL text of a read: the select, the duplicate-id check, the count of unreadable cursors."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

from loader.errors import SourceError
from loader.source.spec import RowFilter, SourceSpec

log = logging.getLogger("loader")


def outlier_sql(spec: SourceSpec, quote: str, placeholder: str) -> tuple[str, str]:
    """Count, then a few ids of, the rows whose cursor is NULL or after an instant."""
    cursor, table = f"{quote}{spec.cursor_column}{quote}", f"{quote}{spec.table}{quote}"
    where = f"{cursor} is null or {cursor} > {placeholder}"
    return (
        f"select count(case when {cursor} is null then 1 end), count({cursor}) "
        f"from {table} where {where}",
        f"select {quote}id{quote} from {table} where {where} order by {quote}id{quote} limit 5",
    )


def warn_outliers(spec: SourceSpec, counts: Sequence[Any], ids: Sequence[Any]) -> None:
    null_rows, future_rows = int(counts[0] or 0), int(counts[1] or 0)
    if not null_rows and not future_rows:
        return
    kinds = [
        f"{n} with {spec.cursor_column} {what}"
        for n, what in ((null_rows, "NULL"), (future_rows, "in the future"))
        if n
    ]
    more = " ..." if null_rows + future_rows > len(ids) else ""
    log.warning(
        f"source table {spec.table!r} has {null_rows + future_rows} row(s) that no day's "
        f"extract reads ({' and '.join(kinds)}; id {', '.join(str(i) for i in ids)}{more}): "
        f"fix their {spec.cursor_column} in the source; nps-loader verify reports their days"
    )


def select_sql(spec: SourceSpec, row_filter: RowFilter, quote: str, placeholder: str) -> str:
    def q(name: str) -> str:
        return f"{quote}{name}{quote}"

    exprs = [q(src) if src is not None else "0" for src, _ in spec.select_columns]
    column = q(dict((role, src) for src, role in spec.select_columns)[row_filter.column_role] or "")
    return (
        f"select {', '.join(exprs)} from {q(spec.table)} "
        f"where {column} >= {placeholder} and {column} < {placeholder}"
        + (f" order by {column}" if row_filter.ordered else "")
    )


def duplicates_sql(spec: SourceSpec, row_filter: RowFilter, quote: str, placeholder: str) -> str:
    """Ids that appear more than once among the rows a read returns (at most 11 of them)."""
    select = select_sql(spec, dataclasses.replace(row_filter, ordered=False), quote, placeholder)
    where = select[select.index(" where ") :]
    table, id_ = f"{quote}{spec.table}{quote}", f"{quote}id{quote}"
    return (
        f"select {id_} from {table}{where} group by {id_} having count(*) > 1 "
        f"order by {id_} limit 11"
    )


def refuse_duplicates(spec: SourceSpec, ids: Sequence[Any]) -> None:
    """One snapshot of a table keyed by id holds each id once; a source without that key could
    hand over two versions of one response that no order can tell apart."""
    if ids:
        shown = ", ".join(str(i) for i in list(ids)[:10])
        more = " and more" if len(ids) > 10 else ""
        raise SourceError(
            f"source table {spec.table!r} has more than one row for id {shown}{more} in one "
            "snapshot: it needs a primary key (or a unique index) on id, or its versions "
            "cannot be ordered; nothing was written or loaded"
        )


# --- SQLite ---------------------------------------------------------------------------------
