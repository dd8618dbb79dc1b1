"""The lake, written: one day extracted from the source into an immutable folder of the lake.

Layout::

    {lake}/nps/run_date=D/extract_id=X/part-00000.parquet   (the rows)
    {lake}/nps/run_date=D/extract_id=X/copy.manifest        (Redshift COPY manifest)
    {lake}/nps/run_date=D/_manifest.json                    (written last: the extract is complete)

Parquet parts are written to a staging folder while the source cursor streams (for a local lake
a hidden folder beside the extract's final place, so the move is a rename on the same
filesystem; for S3 a local temporary folder) and are published into the lake only after the
source transaction has closed and the extract has passed its checks. A failed extract leaves
nothing behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from loader.dates import Window, utc_now
from loader.errors import LakeError
from loader.lake.manifest import Manifest, PartFile, day_prefix, manifest_key, reconcile_prefix
from loader.lake.storage import Lake, discard
from loader.source import SourceSpec, read_window
from loader.tables import CORRECTION_SCHEMA, EXTRACT_SCHEMA

#: Rows per Parquet row group: DuckDB's own row group size, so its reader scans one Parquet
#: row group per thread into one table row group (docs/performance.md, "Choices behind the
#: constants").
ROW_GROUP_ROWS = 122_880
#: Rows per Parquet part (eight row groups): a load holds one part at a time.
PART_ROWS = 8 * ROW_GROUP_ROWS
#: Snappy: Redshift's COPY reads Parquet through Redshift Spectrum ("COPY from columnar data
#: formats", Amazon Redshift Database Developer Guide), and Snappy is the Parquet codec the
#: Spectrum documentation names; zstd inside Parquet is not documented for COPY, so it is not used.
PARQUET_CODEC: Literal["snappy"] = "snappy"
#: No dictionary encoding: ids and timestamps are nearly all distinct, so pyarrow would build a
#: dictionary per column only to fall back to plain encoding (scores and flags compress anyway;
#: docs/performance.md, "Choices behind the constants").
PARQUET_OPTIONS: dict[str, Any] = {"compression": PARQUET_CODEC, "use_dictionary": False}


def new_extract_id(now: dt.datetime) -> str:
    """Sortable by time (the dedupe's last tie-breaker), unique by its random tail."""
    return f"{now:%Y%m%dT%H%M%S%f}Z-{secrets.token_hex(4)}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _PartWriter:
    """Writes row groups into parts of at most PART_ROWS rows, opening parts as it goes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.parts: list[tuple[Path, int]] = []
        self.writer: pq.ParquetWriter | None = None

    def write(self, group: pa.Table) -> None:
        if self.writer is None or self.parts[-1][1] >= PART_ROWS:
            self.close()
            path = self.folder / f"part-{len(self.parts):05d}.parquet"
            self.parts.append((path, 0))
            self.writer = pq.ParquetWriter(path, EXTRACT_SCHEMA, **PARQUET_OPTIONS)
        self.writer.write_table(group, row_group_size=group.num_rows or None)
        path, rows = self.parts[-1]
        self.parts[-1] = (path, rows + group.num_rows)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


#: The columns whose range a manifest records (Manifest.bounds).
BOUNDED_COLUMNS = ("created_at", "modified")


def column_bounds(paths: list[Path]) -> dict[str, tuple[str | None, str | None]]:
    """The smallest and largest value of each BOUNDED_COLUMNS column over the parts, from the
    row groups' Parquet statistics (no data is read)."""
    lows: dict[str, list[dt.datetime]] = {c: [] for c in BOUNDED_COLUMNS}
    highs: dict[str, list[dt.datetime]] = {c: [] for c in BOUNDED_COLUMNS}
    for path in paths:
        metadata = pq.read_metadata(path)
        names = [metadata.schema.column(i).name for i in range(metadata.num_columns)]
        for group in range(metadata.num_row_groups):
            row_group = metadata.row_group(group)
            for column in BOUNDED_COLUMNS:
                stats = row_group.column(names.index(column)).statistics
                if stats is not None and stats.has_min_max:
                    lows[column].append(stats.min)  # type: ignore[arg-type]
                    highs[column].append(stats.max)  # type: ignore[arg-type]
    return {
        c: (
            min(lows[c]).isoformat() if lows[c] else None,
            max(highs[c]).isoformat() if highs[c] else None,
        )
        for c in BOUNDED_COLUMNS
    }


def write_parts(batches: Iterator[pa.RecordBatch], folder: Path) -> list[tuple[Path, int]]:
    """Stream batches into Parquet files of PART_ROWS rows in row groups of ROW_GROUP_ROWS
    (whatever size the source's batches have); always at least one file.

    Row groups are encoded on a second thread while the source fetches the next batches (pyarrow
    releases the GIL), one group in flight at a time, so memory stays at about two row groups.
    """
    out = _PartWriter(folder)
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet") as pool:
        in_flight: Future[None] | None = None

        def flush(rows: int) -> None:
            nonlocal pending, pending_rows, in_flight
            table = pa.Table.from_batches(pending, schema=EXTRACT_SCHEMA)
            rest = table.slice(rows)
            pending, pending_rows = rest.to_batches(), rest.num_rows
            if in_flight is not None:
                in_flight.result()  # re-raises a failed write here
            in_flight = pool.submit(out.write, table.slice(0, rows))

        try:
            for batch in batches:
                pending.append(batch)
                pending_rows += batch.num_rows
                while pending_rows >= ROW_GROUP_ROWS:
                    flush(ROW_GROUP_ROWS)
            if pending_rows or in_flight is None:  # an empty day still gets one (empty) file
                flush(pending_rows)
            if in_flight is not None:
                in_flight.result()
        finally:
            if in_flight is not None:
                in_flight.exception()  # wait for it; its error (if any) was raised above
            pool.submit(out.close).result()
    return out.parts


def copy_manifest(lake: Lake, files: list[PartFile]) -> bytes:
    """A Redshift COPY manifest; ``content_length`` is required for Parquet."""
    entries = [
        {"url": lake.uri(f.key), "mandatory": True, "meta": {"content_length": f.bytes}}
        for f in files
    ]
    return json.dumps({"entries": entries}, indent=2).encode()


def extract_day(
    spec: SourceSpec, lake: Lake, window: Window, changes_reporting_timezone: bool = False
) -> Manifest:
    """Extract ``window`` from the source into the lake and return its manifest."""
    extracted_at = utc_now()
    extract_id = new_extract_id(extracted_at)
    folder_key = f"{day_prefix(window.run_date)}/extract_id={extract_id}"
    with lake.staging(folder_key) as folder:
        parts = write_parts(read_window(spec, window), folder)
        # The source transaction is closed now: a slow upload never holds it open.
        files = [
            PartFile(f"{folder_key}/{path.name}", rows, path.stat().st_size, _sha256(path))
            for path, rows in parts
        ]
        bounds = column_bounds([path for path, _ in parts])
        (folder / "copy.manifest").write_bytes(copy_manifest(lake, files))
    # Hand the extract's Arrow buffers back to the system before the load of the same process
    # needs memory (mimalloc keeps freed pages otherwise; docs/performance.md, section 2).
    pa.default_memory_pool().release_unused()
    copy_key = f"{folder_key}/copy.manifest"
    manifest = Manifest(
        run_date=window.run_date,
        extract_id=extract_id,
        window_start=window.start,
        window_end=window.end,
        rows=sum(f.rows for f in files),
        bytes=sum(f.bytes for f in files),
        files=tuple(files),
        source_table=spec.table,
        cursor_column=spec.cursor_column,
        extracted_at=extracted_at,
        copy_manifest_key=copy_key,
        reporting_timezone=window.zone,
        changes_reporting_timezone=changes_reporting_timezone,
        bounds=bounds,
        source_timezone=spec.source_timezone,
    )
    try:
        lake.put_bytes(manifest_key(window.run_date), manifest.to_json())
    except LakeError as exc:  # the parts are published but nothing points at them: remove them
        discard(lake, folder_key, exc)
        raise
    return manifest


def write_corrections(
    lake: Lake,
    corrections: pa.Table,
    days: tuple[dt.date, dt.date],
    window: tuple[dt.datetime, dt.datetime],
    spec: SourceSpec,
    zone: str,
) -> Manifest:
    """A reconcile's corrections (rows of CORRECTION_SCHEMA) as an immutable extract of their
    own, ``{lake}/nps/reconcile/reconcile_id=X/``: the parts and the COPY manifest; its
    ``_manifest.json`` is written by :func:`publish_corrections` once the load has committed."""
    extracted_at = utc_now()
    reconcile_id = new_extract_id(extracted_at)
    folder_key = reconcile_prefix(reconcile_id)
    with lake.staging(folder_key) as folder:
        path = folder / "part-00000.parquet"
        pq.write_table(corrections.cast(CORRECTION_SCHEMA), path, **PARQUET_OPTIONS)
        files = [
            PartFile(
                f"{folder_key}/{path.name}",
                corrections.num_rows,
                path.stat().st_size,
                _sha256(path),
            )
        ]
        bounds = column_bounds([path])
        (folder / "copy.manifest").write_bytes(copy_manifest(lake, files))
    manifest = Manifest(
        run_date=days[0],
        end_date=days[1],
        kind="reconcile",
        extract_id=reconcile_id,
        window_start=window[0],
        window_end=window[1],
        rows=corrections.num_rows,
        bytes=files[0].bytes,
        files=tuple(files),
        source_table=spec.table,
        cursor_column=spec.cursor_column,
        extracted_at=extracted_at,
        copy_manifest_key=f"{folder_key}/copy.manifest",
        reporting_timezone=zone,
        bounds=bounds,
        source_timezone=spec.source_timezone,
    )
    return manifest


def publish_corrections(lake: Lake, manifest: Manifest) -> None:
    """The reconcile's ``_manifest.json``, written once its load has committed: a reconcile
    killed before that leaves parts that nothing lists and nothing loads."""
    lake.put_bytes(f"{reconcile_prefix(manifest.extract_id)}/_manifest.json", manifest.to_json())
