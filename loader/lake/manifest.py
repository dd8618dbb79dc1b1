"""What an extract holds, as written to ``{lake}/nps/run_date=D/_manifest.json``.

The load trusts nothing that the manifest does not vouch for: rows, bytes and sha256 per part,
the window read (naive UTC), the extract id.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
from dataclasses import asdict, dataclass

from loader import __version__
from loader.errors import LakeError
from loader.tables import LoadKind
from loader.upgrade import manifest_body

MANIFEST_VERSION = 1


def day_prefix(run_date: dt.date) -> str:
    return f"nps/run_date={run_date.isoformat()}"


def manifest_key(run_date: dt.date) -> str:
    return f"{day_prefix(run_date)}/_manifest.json"


def reconcile_prefix(reconcile_id: str) -> str:
    """A reconcile's own immutable folder (its manifest inside it: there is no "latest")."""
    return f"nps/reconcile/reconcile_id={reconcile_id}"


@dataclass(frozen=True)
class PartFile:
    key: str
    rows: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What an extract holds; the load trusts nothing that this does not vouch for."""

    run_date: dt.date
    extract_id: str
    window_start: dt.datetime
    window_end: dt.datetime
    rows: int
    bytes: int
    files: tuple[PartFile, ...]
    source_table: str
    cursor_column: str
    extracted_at: dt.datetime
    loader_version: str = __version__
    copy_manifest_key: str = ""
    manifest_version: int = MANIFEST_VERSION
    #: the reporting zone whose day the window is (what older manifests lack: loader/upgrade.py)
    reporting_timezone: str | None = None
    #: made with --change-reporting-timezone: its load may switch the warehouse's zone
    changes_reporting_timezone: bool = False
    #: "day" (an extract of a day's window) or "reconcile" (the corrections of a range of days:
    #: run_date..end_date, the window is their created_at range)
    kind: LoadKind = "day"
    end_date: dt.date | None = None
    #: per timestamp column, the smallest and largest value in the parts (ISO text; None when
    #: every value is NULL): a warehouse that maps the Parquet types itself (Redshift's COPY)
    #: checks what it staged against them.
    bounds: dict[str, tuple[str | None, str | None]] | None = None
    #: the zone the source's naive DATETIME values were read in
    source_timezone: str | None = None

    def to_json(self) -> builtins.bytes:
        body = asdict(self)
        for name in ("run_date", "window_start", "window_end", "extracted_at", "end_date"):
            value = getattr(self, name)
            body[name] = value.isoformat() if value is not None else None
        return json.dumps(body, indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: builtins.bytes, where: str) -> Manifest:
        try:
            body = manifest_body(json.loads(data))
            return cls(
                run_date=dt.date.fromisoformat(body["run_date"]),
                extract_id=str(body["extract_id"]),
                window_start=dt.datetime.fromisoformat(body["window_start"]),
                window_end=dt.datetime.fromisoformat(body["window_end"]),
                rows=int(body["rows"]),
                bytes=int(body["bytes"]),
                files=tuple(PartFile(**f) for f in body["files"]),
                source_table=str(body["source_table"]),
                cursor_column=str(body["cursor_column"]),
                extracted_at=dt.datetime.fromisoformat(body["extracted_at"]),
                loader_version=str(body["loader_version"]),
                copy_manifest_key=str(body["copy_manifest_key"]),
                manifest_version=int(body["manifest_version"]),
                reporting_timezone=body["reporting_timezone"],
                changes_reporting_timezone=bool(body["changes_reporting_timezone"]),
                kind="reconcile" if body["kind"] == "reconcile" else "day",
                end_date=dt.date.fromisoformat(body["end_date"]) if body["end_date"] else None,
                source_timezone=body["source_timezone"],
                bounds=(
                    {str(k): (v[0], v[1]) for k, v in body["bounds"].items()}
                    if body["bounds"]
                    else None
                ),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise LakeError(
                f"manifest {where} is unreadable ({exc!r}); re-run the extract"
            ) from None
