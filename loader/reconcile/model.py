"""What reconcile compares: a day's report, the comparison of a range, and the warehouse's
current state of a response (the newest version in the order of macros/nps_versions.sql)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from loader.errors import WarehouseError
from loader.relations import Relations
from loader.settings import Settings
from loader.warehouse import Warehouse

DELETED, DIFFERS, NEVER_LOADED = "deleted_from_source", "content_differs", "never_loaded"

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


def current_state_sql(raw_schema: str, model: str | None, where: str, ordered: bool = True) -> str:
    """The newest version of every id with a version matching ``where``, in the order of
    macros/nps_versions.sql, among raw.nps's rows and (``model``: int_nps_responses_current,
    once dbt has built it) the version dbt stores, which a re-run day can have dropped from raw
    while the incremental model keeps it. Of those, the ones matching ``where`` themselves,
    ordered by created_at.

    ``where`` appears :func:`where_uses` times (give its parameters that many times). Each
    table is filtered on its own before the versions are ranked: only the versions of the ids
    that match are held, never a union of both tables whole."""
    order = ", ".join(f"{key} desc" for key in VERSION_KEYS)
    columns = "id, created_at, modified, {deleted}, score, _supersedes, _correction, _loaded_at, _extract_id"
    raw = f"{raw_schema}.nps"
    branches = [(raw, "coalesce(deleted, false) as deleted")]
    if model is not None:
        branches.append((model, "is_deleted as deleted"))
    ids = " union ".join(f"select id from {table} where {where}" for table, _ in branches)
    held = " union all ".join(
        f"select {columns.format(deleted=deleted)} from {table} where id in (select id from ids)"
        for table, deleted in branches
    )
    return (
        f"with ids as ({ids}), held as ({held}), "
        "versions as (select held.*, coalesce(_supersedes, modified) as version, "
        f"row_number() over (partition by held.id order by {order}) as version_rank "
        "from held) "
        "select id, created_at, modified, deleted, score, version, _correction from versions "
        f"where version_rank = 1 and {where}" + (" order by created_at, id" if ordered else "")
    )


def where_uses(model: str | None) -> int:
    """How many times current_state_sql writes its ``where``."""
    return 3 if model is not None else 2


def find_model(warehouse: Warehouse, settings: Settings) -> str | None:
    """int_nps_responses_current, when dbt has built it."""
    name = Relations(settings.warehouse_target().schema, settings.raw_schema).current_state
    try:
        warehouse.query(f"select 1 from {name} where 1 = 0", ())
    except WarehouseError:
        return None
    return name


def stored_by_id(
    warehouse: Warehouse, raw: str, model: str | None, ids: list[int]
) -> dict[int, Stored]:
    found: dict[int, Stored] = {}
    for offset in range(0, len(ids), 1000):
        chunk = ids[offset : offset + 1000]
        where = f"id in ({', '.join(str(int(i)) for i in chunk)})"  # ints, not input text
        for id_, created, modified, deleted, score, version, correction in warehouse.query(
            current_state_sql(raw, model, where, ordered=False), ()
        ):
            content = (created, modified, bool(deleted), score)
            found[int(id_)] = Stored(content, version, correction)
    return found
