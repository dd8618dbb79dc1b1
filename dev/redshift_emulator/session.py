"""The connections: every connection that dbt-redshift (``redshift_connector.connect``) or the
loader (``psycopg2.connect`` to the profile's Redshift host) opens goes to the emulated
PostgreSQL through :class:`Connection`, whose cursors check each statement against
:mod:`rules`, translate it, and run ``COPY`` from S3 themselves.

Redshift's behaviour kept here:

- each connection runs under snapshot isolation (PostgreSQL's REPEATABLE READ: a transaction
  that updates a row another committed since it started fails, as Redshift's error 1023 does);
  session time zone UTC;
- redshift_connector with ``autocommit=True`` (dbt-redshift's default) sends each statement on
  its own; ``BEGIN`` opens a transaction until ``COMMIT``/``ROLLBACK``;
- ``LOCK`` outside a transaction block is refused: AWS, LOCK: "only meaningful when it is run
  inside a transaction block" (https://docs.aws.amazon.com/redshift/latest/dg/r_LOCK.html);
- ``VACUUM`` inside one is refused: AWS, VACUUM: "You can't run VACUUM within a transaction
  block (BEGIN ... END)" (https://docs.aws.amazon.com/redshift/latest/dg/r_VACUUM_command.html).

A permanent table created with a SORTKEY gets, in PostgreSQL, what stands for its sort order
and its zone maps: a B-tree on the sort key, and a BRIN (block range min/max) index over its
other date, timestamp and integer columns; the same SQL then reads a day's rows by index where
Redshift skips blocks, and the whole table where Redshift would too. Its DISTKEY gets a B-tree
as well: Redshift joins on the distribution key within each slice, by hash, where PostgreSQL,
left without an index on it, can pick a nested loop over a block-range scan.

With ``REDSHIFT_EMULATOR_LOG`` set to a file, every statement a client sends is appended to it
(one JSON object a line: the client, whether a transaction was open, the SQL as sent): the
statements a run sends to Redshift, for the tests and docs/performance.md to read.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from dev.redshift_emulator import copy, rules, translate

#: The host the profile's redshift target names under the emulator.
EMULATED_HOST = "redshift.emulator.invalid"
_CATALOG = (Path(__file__).with_name("catalog.sql")).read_text()
_LOCK = re.compile(r"^\s*lock\s", re.IGNORECASE)
_VACUUM = re.compile(r"^\s*vacuum\b", re.IGNORECASE)
_CREATE_SORTED = re.compile(
    r"^\s*create\s+table\s+(?:if\s+not\s+exists\s+)?(?P<name>(?:\"[^\"]+\"|\w+)(?:\.(?:\"[^\"]+\"|\w+))*)"
    r".*?\bsortkey\s*\((?P<key>[^)]*)\)",
    re.IGNORECASE | re.DOTALL,
)
_DISTKEY = re.compile(r"\bdistkey\s*\(\s*([\w\"]+)\s*\)", re.IGNORECASE)
#: the column types a BRIN minmax index summarizes here
_ZONE_MAP_TYPES = ("bigint", "integer", "smallint", "date", "timestamp without time zone")
VACUUM_PAGE = rules.AWS + "r_VACUUM_command.html"
_log_lock = threading.Lock()


def _log(client: str, in_transaction: bool, sql: str, seconds: float) -> None:
    path = os.environ.get("REDSHIFT_EMULATOR_LOG")
    if not path:
        return
    line = json.dumps(
        {"client": client, "in_transaction": in_transaction, "seconds": seconds, "sql": sql}
    )
    with _log_lock, open(path, "a", encoding="utf-8") as log:
        log.write(line + "\n")


_LEADING_COMMENTS = re.compile(r"^\s*(/\*.*?\*/\s*|--[^\n]*\n\s*)*", re.DOTALL)


def _head(sql: str) -> str:
    """The statement without the comments before it (dbt puts its query comment first)."""
    return _LEADING_COMMENTS.sub("", sql, count=1)


_catalog_done: set[str] = set()
_catalog_lock = threading.Lock()


def _dsn(postgres_url: str) -> dict[str, Any]:
    url = urlparse(postgres_url)
    return {
        "host": url.hostname or "127.0.0.1",
        "port": url.port or 5432,
        "user": unquote(url.username or ""),
        "password": unquote(url.password or ""),
        "dbname": url.path.lstrip("/") or "postgres",
    }


class _Style:
    """How a client sees errors: redshift_connector's exceptions or psycopg2's."""

    def __init__(self, client: str) -> None:
        self.client = client

    def error(self, message: str, code: str = "XX000") -> Exception:
        if self.client == "redshift_connector":
            import redshift_connector

            return redshift_connector.ProgrammingError({"S": "ERROR", "C": code, "M": message})
        import psycopg2

        return (
            psycopg2.errors.FeatureNotSupported(message)
            if code == "0A000"
            else psycopg2.DatabaseError(message)
        )


def _redshift_message(exc: Exception) -> tuple[str, str]:
    code = getattr(exc, "pgcode", None) or "XX000"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if code == "40001":
        # Redshift's wording of a serialization failure under SNAPSHOT/SERIALIZABLE isolation
        return f"1023 DETAIL: Serializable isolation violation on table ({first})", code
    if code == "40P01":
        return f"1023 DETAIL: Serializable isolation violation: deadlock ({first})", code
    return first.removeprefix("ERROR:").strip(), code


class Cursor:
    def __init__(self, connection: Connection, raw: Any) -> None:
        self._connection = connection
        self._raw = raw

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._raw, name, value)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._raw)

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self._raw.close()

    def execute(self, sql: str, params: Any = None) -> Cursor:
        conn = self._connection
        started, in_transaction = time.monotonic(), conn.in_transaction()
        try:
            return self._execute(sql, params)
        finally:
            if os.environ.get("REDSHIFT_EMULATOR_LOG"):
                text = sql if not params else self._mogrify_cursor().mogrify(sql, params).decode()
                _log(conn.style.client, in_transaction, text, time.monotonic() - started)

    def _execute(self, sql: str, params: Any = None) -> Cursor:
        import psycopg2

        conn = self._connection
        text = sql
        if params:
            text = self._mogrify_cursor().mogrify(sql, params).decode()
        try:
            rules.check(text)
        except rules.Refused as exc:
            raise conn.style.error(str(exc), "0A000") from None
        head = _head(text)
        if _VACUUM.match(head) and conn.in_transaction():
            raise conn.style.error(
                f"VACUUM cannot run inside a transaction block on Redshift (AWS: {VACUUM_PAGE}): "
                f"{text.strip()[:200]}",
                "25001",
            )
        if _LOCK.match(head) and not conn.in_transaction():
            raise conn.style.error(
                f"LOCK outside a transaction block does nothing on Redshift (AWS: {rules.LOCK}); "
                f"send BEGIN first: {text.strip()[:200]}",
                "25P01",
            )
        try:
            if copy.is_copy(head):
                try:
                    copy.run(self._raw, head)
                except copy.CopyError as exc:
                    conn.record_load_error(text, str(exc))
                    raise conn.style.error(
                        f"Load into table failed: {exc}. Check 'stl_load_errors' system table for details."
                    ) from None
            else:
                sorted_table = _CREATE_SORTED.match(head)
                existed = sorted_table is not None and self._exists(sorted_table["name"])
                self._raw.execute(translate.to_postgres(text))
                if sorted_table and not existed:
                    self._index_like_zone_maps(sorted_table["name"], sorted_table["key"], head)
        except psycopg2.Error as exc:
            if conn.style.client == "psycopg2" and getattr(exc, "pgcode", None) not in (
                "40001",
                "40P01",
            ):
                raise
            message, code = _redshift_message(exc)
            raise conn.style.error(message, code) from None
        return self

    def _exists(self, table: str) -> bool:
        """Without a lock (a ``create table if not exists`` of a table in use must not wait)."""
        self._raw.execute("select to_regclass(%s) is not null", (table,))
        return bool(self._raw.fetchone()[0])

    def _index_like_zone_maps(self, table: str, key: str, create: str) -> None:
        """The sort key and the dist key as B-trees, the other columns' zone maps as one BRIN
        index."""
        columns = [c.strip() for c in key.split(",") if c.strip()]
        base = table.split(".")[-1].strip('"')
        self._raw.execute(
            f'create index if not exists "{base}_sortkey" on {table} ({", ".join(columns)})'
        )
        distkey = _DISTKEY.search(create)
        if distkey:
            self._raw.execute(
                f'create index if not exists "{base}_distkey" on {table} ({distkey[1]})'
            )
        self._raw.execute(
            "select attname from pg_attribute where attrelid = %s::regclass and attnum > 0 "
            "and not attisdropped and format_type(atttypid, atttypmod) = any(%s)",
            (table, list(_ZONE_MAP_TYPES)),
        )
        keyed = {c.strip('"').lower() for c in columns}
        others = [f'"{name}"' for (name,) in self._raw.fetchall() if name.lower() not in keyed]
        if others:
            self._raw.execute(
                f'create index if not exists "{base}_zone_maps" on {table} '
                f"using brin ({', '.join(others)})"
            )

    def _mogrify_cursor(self) -> Any:
        # a named (server-side) cursor cannot mogrify before it is executed in every version
        return self._raw if self._raw.name is None else self._connection.raw.cursor()


class Connection:
    def __init__(self, raw: Any, client: str, dsn: dict[str, Any]) -> None:
        self.raw = raw
        self.style = _Style(client)
        self.dsn = dsn

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)

    @property
    def autocommit(self) -> bool:
        return bool(self.raw.autocommit)

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        self.raw.autocommit = value

    def in_transaction(self) -> bool:
        import psycopg2.extensions as ext

        if not self.raw.autocommit:
            return True  # psycopg2 and redshift_connector begin one before the first statement
        return self.raw.info.transaction_status != ext.TRANSACTION_STATUS_IDLE

    def cursor(self, *args: Any, **kwargs: Any) -> Cursor:
        return Cursor(self, self.raw.cursor(*args, **kwargs))

    def commit(self) -> None:
        if self.raw.autocommit:
            if self.in_transaction():
                self.raw.cursor().execute("commit")
        else:
            self.raw.commit()

    def rollback(self) -> None:
        if self.raw.autocommit:
            if self.in_transaction():
                self.raw.cursor().execute("rollback")
        else:
            self.raw.rollback()

    def __enter__(self) -> Connection:
        self.raw.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self.raw.__exit__(*exc)

    def record_load_error(self, sql: str, reason: str) -> None:
        """A failed COPY's row in stl_load_errors, written outside the COPY's transaction."""
        import psycopg2

        side = psycopg2.connect(**self.dsn)
        try:
            with side, side.cursor() as cur:
                cur.execute(
                    "insert into public.stl_load_errors (starttime, session, filename, err_code, "
                    "err_reason, raw_line) values (getdate(), %s, %s, 15001, %s, %s)",
                    (self.raw.info.backend_pid, sql[:256], reason[:100], sql[:1024]),
                )
        finally:
            side.close()


def open_connection(postgres_url: str, client: str) -> Connection:
    import psycopg2

    dsn = _dsn(postgres_url)
    raw = psycopg2.connect(
        **dsn,
        application_name=f"redshift-emulator ({client})",
        options="-c default_transaction_isolation=repeatable\\ read -c timezone=UTC",
    )
    key = postgres_url
    with _catalog_lock:
        if key not in _catalog_done:
            raw.autocommit = True
            with raw.cursor() as cur:
                cur.execute("select pg_advisory_lock(4242)")
                try:
                    cur.execute(_CATALOG)
                finally:
                    cur.execute("select pg_advisory_unlock(4242)")
            raw.autocommit = False
            _catalog_done.add(key)
    return Connection(raw, client, dsn)


@contextlib.contextmanager
def emulate(postgres_url: str) -> Iterator[None]:
    """Send every Redshift connection of this process to ``postgres_url`` while inside."""
    import psycopg2
    import redshift_connector

    real_psycopg2 = psycopg2.connect
    real_redshift = redshift_connector.connect

    def psycopg2_connect(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("host") == EMULATED_HOST:
            return open_connection(postgres_url, "psycopg2")
        return real_psycopg2(*args, **kwargs)

    def redshift_connect(**kwargs: Any) -> Any:
        connection = open_connection(postgres_url, "redshift_connector")
        # redshift_connector's default; dbt-redshift then sets autocommit=True
        connection.autocommit = False
        return connection

    psycopg2.connect = psycopg2_connect
    redshift_connector.connect = redshift_connect
    try:
        yield
    finally:
        psycopg2.connect = real_psycopg2
        redshift_connector.connect = real_redshift


#: A role ARN of the right shape: the emulator's COPY checks the form, not the permission.
EMULATED_IAM_ROLE = "arn:aws:iam::123456789012:role/redshift-emulator"


def target_env(postgres_url: str, schema: str | None = None) -> dict[str, str]:
    """The environment that points the profile's redshift target at the emulator (the database
    name is the PostgreSQL's: information_schema reports it as table_catalog)."""
    env = {
        "DBT_TARGET": "redshift",
        "NPS_REDSHIFT_HOST": EMULATED_HOST,
        "NPS_REDSHIFT_PORT": "5439",
        "NPS_REDSHIFT_USER": "emulator",
        "NPS_REDSHIFT_PASSWORD": "emulator",
        "NPS_REDSHIFT_DATABASE": _dsn(postgres_url)["dbname"],
        "NPS_REDSHIFT_IAM_ROLE": EMULATED_IAM_ROLE,
    }
    if schema:
        env["NPS_REDSHIFT_SCHEMA"] = schema
    return env
