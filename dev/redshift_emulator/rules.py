"""What Amazon Redshift refuses that PostgreSQL accepts: one table, each entry citing the AWS page
that documents it, checked on every statement before the emulator hands it to PostgreSQL.

Two kinds of rule: token sequences (a function call, a clause), matched on the statement's tokens
under sqlglot's Redshift tokenizer, so a word inside a string or a comment never matches; and
correlated-subquery shapes, found by sqlglot's scope analysis of the parsed statement.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import traverse_scope

# sqlglot logs a warning for every statement it falls back to parsing as a plain command (LOCK,
# COPY options, Redshift table attributes); the emulator checks those by tokens instead.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

AWS = "https://docs.aws.amazon.com/redshift/latest/dg/"
FUNCTIONS = AWS + "c_unsupported-postgresql-functions.html"
FEATURES = AWS + "c_unsupported-postgresql-features.html"
CORRELATED = AWS + "r_correlated_subqueries.html"
LOCK = AWS + "r_LOCK.html"


@dataclass(frozen=True)
class Rule:
    what: str
    page: str
    #: lower-case token texts in a row; empty for the rules checked on the parse tree
    tokens: tuple[str, ...] = ()


def _call(name: str, page: str = FUNCTIONS) -> Rule:
    return Rule(f"{name.upper()}()", page, (name, "("))


#: Everything the emulator refuses by its tokens.
TOKEN_RULES: tuple[Rule, ...] = (
    # "Unsupported PostgreSQL functions": aggregates, advisory locks, set-returning, date/time,
    # math, string functions that PostgreSQL has and Redshift does not.
    *(
        _call(name)
        for name in (
            "string_agg",
            "array_agg",
            "every",
            "xmlagg",
            "corr",
            "covar_pop",
            "covar_samp",
            "regr_slope",
            "regr_intercept",
            "regr_count",
            "regr_r2",
            "pg_advisory_lock",
            "pg_advisory_xact_lock",
            "pg_try_advisory_lock",
            "pg_try_advisory_xact_lock",
            "pg_advisory_unlock",
            "generate_series",
            "generate_subscripts",
            "clock_timestamp",
            "transaction_timestamp",
            "justify_days",
            "justify_hours",
            "justify_interval",
            "pg_sleep",
            "div",
            "setseed",
            "width_bucket",
            "bit_length",
            "overlay",
            "convert_from",
            "convert_to",
            "format",
            "string_to_array",
            "array_to_string",
            "unnest",
            "to_jsonb",
            "jsonb_build_object",
            "json_agg",
            "jsonb_agg",
            "hashtext",
        )
    ),
    Rule("IS DISTINCT FROM", FUNCTIONS, ("is", "distinct", "from")),
    Rule("IS NOT DISTINCT FROM", FUNCTIONS, ("is", "not", "distinct", "from")),
    # SELECT list: [ TOP n ] [ ALL | DISTINCT ] only
    Rule("SELECT DISTINCT ON (...)", AWS + "r_SELECT_list.html", ("distinct", "on", "(")),
    # aggregate functions take no FILTER clause
    Rule(
        "an aggregate's FILTER (WHERE ...)",
        AWS + "c_Aggregate_Functions.html",
        ("filter", "(", "where"),
    ),
    # INSERT has no ON CONFLICT (Redshift has MERGE)
    Rule("INSERT ... ON CONFLICT", AWS + "r_INSERT_30.html", ("on", "conflict")),
    # ALTER TABLE ADD [ COLUMN ] column_name: no IF NOT EXISTS
    Rule(
        "ALTER TABLE ... ADD COLUMN IF NOT EXISTS",
        AWS + "r_ALTER_TABLE.html",
        ("add", "column", "if", "not", "exists"),
    ),
    Rule(
        "ALTER TABLE ... ADD IF NOT EXISTS",
        AWS + "r_ALTER_TABLE.html",
        ("add", "if", "not", "exists"),
    ),
    # Redshift has sort and distribution keys, no indexes
    Rule("CREATE INDEX", FEATURES, ("create", "index")),
    Rule("CREATE UNIQUE INDEX", FEATURES, ("create", "unique", "index")),
    Rule("CREATE SEQUENCE", FEATURES, ("create", "sequence")),
    Rule("CREATE TRIGGER", FEATURES, ("create", "trigger")),
    Rule("table partitioning (PARTITION BY in CREATE TABLE)", FEATURES, ("partition", "of")),
    Rule("table inheritance (INHERITS)", FEATURES, ("inherits", "(")),
    Rule("CREATE EXTENSION", FEATURES, ("create", "extension")),
    Rule("the JSONB type", FEATURES, ("jsonb",)),
    Rule("ROLLBACK TO SAVEPOINT", FUNCTIONS, ("rollback", "to", "savepoint")),
    Rule("SAVEPOINT", FUNCTIONS, ("savepoint",)),
    Rule("a recursive CTE joined by UNION (only UNION ALL)", AWS + "r_WITH_clause.html", ()),
)

CORRELATED_RULES: tuple[Rule, ...] = (
    Rule("a correlation reference that skips a query block", CORRELATED),
    Rule("a correlation reference from a subquery in an outer join's ON clause", CORRELATED),
    Rule("a correlation reference from a subquery with a window function", CORRELATED),
    # Not on the page's list, reported by users with "This type of correlated subquery pattern
    # is not supported": a correlated subquery that is one arm of an OR cannot be rewritten as
    # a join; the emulator refuses it so the project never depends on it.
    Rule("a correlated subquery inside an OR", CORRELATED),
)


class Refused(Exception):
    """A statement Redshift would refuse."""

    def __init__(self, rule: Rule, sql: str) -> None:
        self.rule = rule
        self.sql = sql
        snippet = " ".join(sql.split())
        if len(snippet) > 240:
            snippet = snippet[:240] + " ..."
        super().__init__(
            f"Amazon Redshift does not support {rule.what} (AWS: {rule.page}); statement: {snippet}"
        )


def _tokens(sql: str) -> list[str]:
    return [t.text.lower() for t in sqlglot.Dialect.get_or_raise("redshift").tokenize(sql)]


def check(sql: str) -> None:
    """Raise :class:`Refused` if Redshift would refuse ``sql`` (one or more statements)."""
    tokens = _tokens(sql)
    for rule in TOKEN_RULES:
        n = len(rule.tokens)
        if n and any(tuple(tokens[i : i + n]) == rule.tokens for i in range(len(tokens) - n + 1)):
            raise Refused(rule, sql)
    if "recursive" in tokens:
        for i, token in enumerate(tokens[:-1]):
            if token == "union" and tokens[i + 1] != "all":
                raise Refused(TOKEN_RULES[-1], sql)
    if "select" not in tokens:
        return
    try:
        statements = sqlglot.parse(sql, read="redshift")
    except SqlglotError as exc:
        raise Refused(
            Rule(f"this syntax ({str(exc).splitlines()[0]})", AWS + "c_SQL_commands.html"), sql
        ) from None
    for statement in statements:
        if statement is not None and not isinstance(statement, exp.Command):
            _check_correlation(statement, sql)


def _check_correlation(statement: exp.Expression, sql: str) -> None:
    for scope in traverse_scope(statement):
        if not scope.is_subquery or scope.parent is None:
            continue
        # only qualified references are certain without the tables' columns (select * hides them)
        own = {name.lower() for name in scope.selected_sources}
        external = [c for c in scope.external_columns if c.table and c.table.lower() not in own]
        if not external:
            continue
        parent_sources = {name.lower() for name in scope.parent.selected_sources}
        # skip-level: a column of a block above the parent
        if any(column.table and column.table.lower() not in parent_sources for column in external):
            raise Refused(CORRELATED_RULES[0], sql)
        node: exp.Expression | None = scope.expression
        while node is not None and node is not scope.parent.expression:
            parent = node.parent
            if isinstance(parent, exp.Or):
                raise Refused(CORRELATED_RULES[3], sql)
            if (
                isinstance(parent, exp.Join)
                and node.arg_key == "on"
                and parent.side in ("LEFT", "RIGHT", "FULL")
            ):
                raise Refused(CORRELATED_RULES[1], sql)
            node = parent
        if scope.expression.find(exp.Window) is not None:
            raise Refused(CORRELATED_RULES[2], sql)
