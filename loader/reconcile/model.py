"""What reconcile compares: a day's report, the comparison of a range, and the warehouse's
current state of a response (the newest version in the order of macros/nps_versions.sql)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from loader.errors import WarehouseError
from loader.settings import Settings
from loader.table_names import TableNames
from loader.warehouse import Warehouse, id_ranges

#: (created_at, modified, deleted, score): what is compared
Content = tuple[Any, Any, bool, Any]

#: The version order of macros/nps_versions.sql (nps_version_keys), most significant first,
#: each descending; tests/unit/test_reconcile_rules.py holds the two equal.
LOW = "cast('1900-01-01 00:00:00' as timestamp)"
VERSION_KEYS = (
    "coalesce(_supersedes, modified)",
    f"coalesce(case when _correction is not null then _loaded_at end, {LOW})",
    f"coalesce(created_at, {LOW})",
    "_loaded_at",
    "_extract_id",
)


@dataclass(frozen=True)
class Stored:
    """A warehouse id's current version."""

    content: Content
    version: dt.datetime | None  # coalesce(_supersedes, modified)
    correction: str | None


@dataclass
class DayReport:
    day: dt.date
    source_rows: int = 0
    warehouse_rows: int = 0
    deleted: list[int] = field(default_factory=list)
    #: (id, why)
    differs: list[tuple[int, str]] = field(default_factory=list)
    never_loaded: list[int] = field(default_factory=list)
    #: changed at or after the newest loaded window's end: left to the daily runs
    pending: int = 0
    #: cursor in the future: not corrected (fix the source)
    future: list[int] = field(default_factory=list)
    #: the day's fingerprint, when it agreed on both sides (no row was compared)
    fingerprint: str | None = None
    #: why the day was not compared: no day load covers it (load it; never reconcile it)
    not_loaded: str | None = None

    @property
    def corrections(self) -> int:
        return len(self.deleted) + len(self.differs) + len(self.never_loaded)

    def as_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "source_rows": self.source_rows,
            "warehouse_rows": self.warehouse_rows,
            "deleted": self.deleted,
            "differs": [{"id": i, "why": why} for i, why in self.differs],
            "never_loaded": self.never_loaded,
            "pending": self.pending,
            "future_cursor": self.future,
            "fingerprint": self.fingerprint,
            "not_loaded": self.not_loaded,
        }


@dataclass
class Comparison:
    first: dt.date
    last: dt.date
    zone: str
    bounds: tuple[dt.datetime, dt.datetime]
    days: dict[dt.date, DayReport]
    corrections: list[dict[str, Any]]

    def day(self, day: dt.date) -> DayReport:
        return self.days.setdefault(day, DayReport(day))

    def correct(self, day: dt.date, id_: int, content: Content, supersedes: Any, kind: str) -> None:
        """Add a correction: ``content`` as raw.nps's row of ``id_``, in place of ``supersedes``."""
        created, modified, deleted, score = content
        self.corrections.append(
            {
                "id": id_,
                "created_at": created,
                "modified": modified,
                "deleted": deleted,
                "score": score,
                "_run_date": day,
                "_supersedes": supersedes,
                "_correction": kind,
            }
        )

    def total(self, name: str) -> int:
        return sum(
            len(v) if isinstance(v := getattr(r, name), list) else int(v)
            for r in self.days.values()
        )

    @property
    def source_rows(self) -> int:
        return self.total("source_rows")

    @property
    def warehouse_rows(self) -> int:
        return self.total("warehouse_rows")


def _literal(value: dt.date | dt.datetime) -> str:
    """A date or timestamp the loader computed (never input text), as a SQL literal."""
    if isinstance(value, dt.datetime):
        return f"cast('{value.isoformat(sep=' ')}' as timestamp)"
    return f"cast('{value.isoformat()}' as date)"


def _newest_sql(
    raw_schema: str, model: str | None, ids: str, raw_held: str, model_held: str, where: str
) -> str:
    """The newest version, in the order of macros/nps_versions.sql, of every id ``ids``
    selects, among raw.nps's rows matching ``raw_held`` and the rows of ``model``
    (int_nps_responses_current, once dbt has built it: a re-run day can have dropped a version
    from raw that the incremental model keeps) matching ``model_held``; of those, the ones
    matching ``where``. Each table is filtered on its own before the versions are ranked."""
    order = ", ".join(f"{key} desc" for key in VERSION_KEYS)
    columns = "id, created_at, modified, {deleted}, score, _supersedes, _correction, _loaded_at, _extract_id"
    branches = [(f"{raw_schema}.nps", "coalesce(deleted, false) as deleted", raw_held)]
    if model is not None:
        branches.append((model, "is_deleted as deleted", model_held))
    held = " union all ".join(
        f"select {columns.format(deleted=deleted)} from {table} "
        f"where {filter_} and id in (select id from ids)"
        for table, deleted, filter_ in branches
    )
    return (
        f"with ids as ({ids}), held as ({held}), "
        "versions as (select held.*, coalesce(_supersedes, modified) as version, "
        f"row_number() over (partition by held.id order by {order}) as version_rank "
        "from held) "
        "select id, created_at, modified, deleted, score, version, _correction from versions "
        f"where version_rank = 1 and {where}"
    )


def day_state_sql(
    raw_schema: str,
    model: str | None,
    day: dt.date,
    bounds: tuple[dt.datetime, dt.datetime],
    folded: bool = False,
) -> str:
    """The current state of the responses created on ``day`` (``bounds``: its midnights in
    UTC), ordered by created_at, on literals each table is sorted on: raw.nps's ``_run_date``
    (a version is loaded on or after the day it was created: the day's load window ends after
    it), the current state's ``response_date``. When dbt has ``folded`` every load of raw.nps
    into ``model``, the model's rows of the day are the current state: raw is not read."""
    created = f"created_at >= {_literal(bounds[0])} and created_at < {_literal(bounds[1])}"
    loaded_since = f"_run_date >= {_literal(day)}"
    on_day = f"response_date = {_literal(day)}"
    if folded and model is not None:
        return (
            "select id, created_at, modified, is_deleted as deleted, score, "
            "coalesce(_supersedes, modified) as version, _correction "
            f"from {model} where {on_day} and {created} order by created_at, id"
        )
    ids = f"select id from {raw_schema}.nps where {loaded_since} and {created}"
    if model is not None:
        ids += f" union select id from {model} where {on_day}"
    return (
        _newest_sql(raw_schema, model, ids, loaded_since, on_day, created)
        + " order by created_at, id"
    )


def ids_state_sql(raw_schema: str, model: str | None, ranges: str) -> str:
    """The current state of the ids of the table ``{ids}`` (Warehouse.query_with_ids), whose
    ``ranges`` (warehouse.id_ranges over ``id``) a zone map or an index can prune on."""
    return _newest_sql(raw_schema, model, "select id from {ids}", ranges, ranges, "1 = 1")


def find_model(warehouse: Warehouse, settings: Settings) -> str | None:
    """int_nps_responses_current, when dbt has built it."""
    name = TableNames.of(settings).current_state
    try:
        warehouse.query(f"select 1 from {name} where 1 = 0", ())
    except WarehouseError:
        return None
    return name


def stored_by_id(
    warehouse: Warehouse, raw: str, model: str | None, ids: list[int]
) -> dict[int, Stored]:
    found: dict[int, Stored] = {}
    if not ids:
        return found
    sql = ids_state_sql(raw, model, id_ranges(ids, "id"))
    for id_, created, modified, deleted, score, version, correction in warehouse.query_with_ids(
        sql, ids
    ):
        content = (created, modified, bool(deleted), score)
        found[int(id_)] = Stored(content, version, correction)
    return found
