"""What a statement reads of the big tables: for each reference to raw.nps or the current
state (int_nps_responses_current, and the views that select from them), whether a predicate on
literals lets Redshift's zone maps skip blocks, or the whole table is read.

Redshift keeps the minimum and maximum of each column in each 1 MB block (a zone map) and skips
the blocks a range-restricted predicate excludes; the sort key makes the ranges narrow
(https://docs.aws.amazon.com/redshift/latest/dg/t_Sorting_data.html). A bound it can use is a
literal: a subquery's result, a join, or a column compared with a column skips nothing. Columns
that are not the sort key prune too when their values follow it or the order rows were written
in, which keeps each block's range narrow: they are listed with the reason.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from dev.redshift_emulator import translate

logging.getLogger("sqlglot").setLevel(logging.ERROR)

#: raw.nps: compound sort key (_run_date, _loaded_at); _loaded_at also grows as rows are loaded.
RAW = frozenset({"_run_date", "_loaded_at"})
#: the current state: sort key response_date; _batch_at grows with each dbt run that writes rows
#: (appended blocks hold one run's value); _run_date, the load day, is the response's day or
#: soon after; id grows with created_at (auto-increment), so literal id ranges prune as well.
CURRENT = frozenset({"response_date", "_batch_at", "_run_date", "id"})

#: table or view name -> the columns whose literal bounds prune it
BIG_TABLES: dict[str, frozenset[str]] = {
    "nps": RAW,
    "stg_nps__responses": RAW,  # a view of raw.nps: its predicates are raw's
    "int_nps_responses_current": CURRENT,
    "fct_nps_responses": frozenset({"response_date", "id"}),  # views of the current state
    "nps_rejected_responses": frozenset({"response_date", "id"}),
}


@dataclass(frozen=True)
class Read:
    table: str
    pruned: bool


def _is_literal(node: exp.Expression) -> bool:
    return not any(
        isinstance(n, (exp.Column, exp.Select, exp.Subquery, exp.Query)) for n in node.walk()
    )


def _column_of(node: exp.Expression, alias: str, columns: frozenset[str]) -> bool:
    return (
        isinstance(node, exp.Column)
        and node.name.lower() in columns
        and (not node.table or node.table.lower() == alias)
    )


def _never_true(cond: exp.Expression) -> bool:
    """``false``, ``1 = 0``: the planner reads no block at all."""
    if isinstance(cond, exp.Boolean):
        return not cond.this
    if isinstance(cond, exp.EQ) and isinstance(cond.left, exp.Literal):
        right = cond.right
        return isinstance(right, exp.Literal) and right.this != cond.left.this
    return False


def _prunes(cond: exp.Expression | None, alias: str, columns: frozenset[str]) -> bool:
    if cond is None:
        return False
    if _never_true(cond):
        return True
    if isinstance(cond, exp.Paren):
        return _prunes(cond.this, alias, columns)
    if isinstance(cond, exp.And):
        return _prunes(cond.left, alias, columns) or _prunes(cond.right, alias, columns)
    if isinstance(cond, exp.Or):
        return _prunes(cond.left, alias, columns) and _prunes(cond.right, alias, columns)
    if isinstance(cond, exp.Between):
        return (
            _column_of(cond.this, alias, columns)
            and _is_literal(cond.args["low"])
            and _is_literal(cond.args["high"])
        )
    if isinstance(cond, exp.In):
        values = cond.expressions
        return (
            _column_of(cond.this, alias, columns)
            and bool(values)
            and not cond.args.get("query")
            and all(_is_literal(v) for v in values)
        )
    if isinstance(cond, exp.Is):  # a sort key's nulls sort together, after every value
        return _column_of(cond.this, alias, columns) and isinstance(cond.expression, exp.Null)
    if isinstance(cond, (exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE)):
        left, right = cond.left, cond.right
        return (_column_of(left, alias, columns) and _is_literal(right)) or (
            _column_of(right, alias, columns) and _is_literal(left)
        )
    return False


def _conditions(scope: exp.Expression) -> list[exp.Expression]:
    found = []
    if scope.args.get("where") is not None:
        found.append(scope.args["where"].this)
    for join in scope.args.get("joins") or []:
        if join.args.get("on") is not None:
            found.append(join.args["on"])
    return found


def _reads_nothing(node: exp.Expression) -> bool:
    """Inside a query that returns no row whatever the data (``where false``, ``limit 0``: how
    dbt asks for a query's columns)."""
    select = node.find_ancestor(exp.Select)
    while select is not None:
        where, limit = select.args.get("where"), select.args.get("limit")
        if where is not None and _never_true(where.this):
            return True
        if limit is not None and limit.expression.name == "0":
            return True
        select = select.find_ancestor(exp.Select)
    return False


def _defines_a_view(statement: exp.Create) -> bool:
    """CREATE VIEW reads nothing: its SELECT runs when the view is read."""
    return statement.kind == "VIEW"


def reads(sql: str) -> list[Read]:
    """Each reference of ``sql`` to a big table, and whether a literal predicate prunes it."""
    # table attributes (DISTKEY, SORTKEY, ...) say nothing about what is read
    sql = translate.strip_table_attributes(sql)
    try:
        statements = sqlglot.parse(sql, read="redshift")
    except SqlglotError:
        # never "reads nothing" by default: a statement that names a big table and cannot be
        # parsed counts as reading it whole
        named = {t for t in BIG_TABLES if re.search(rf'\.\s*"?{t}"?(?![\w"])', sql, re.IGNORECASE)}
        return [Read(t, False) for t in sorted(named)]
    found: list[Read] = []
    for statement in statements:
        if statement is None or (
            isinstance(statement, exp.Create)
            and statement.kind in ("VIEW", "TABLE")
            and _defines_a_view(statement)
        ):
            continue
        written = statement.this if isinstance(statement, exp.Insert) else None
        for table in statement.find_all(exp.Table):
            name = table.name.lower()
            if name not in BIG_TABLES or (written is not None and table in written.walk()):
                continue
            if isinstance(table.parent, exp.Create):
                continue
            scope = table.find_ancestor(exp.Select, exp.Delete)
            if scope is None or _reads_nothing(table):
                continue
            alias = (table.alias or name).lower()
            columns = BIG_TABLES[name]
            pruned = any(_prunes(c, alias, columns) for c in _conditions(scope))
            found.append(Read(name, pruned))
    return found
