"""The lake, read: one day's extract as a load reads it, every byte checked against its manifest.

:class:`Extract` is the one API: ``Extract.latest(lake, day)`` finds the day's manifest, and its
rows come part by part (``batches``, or ``part_files`` for a warehouse that reads Parquet
itself), each part refused unless its size and sha256 match the manifest, it is Parquet of the
extract schema with the manifest's row count, and no id is null. ``verify`` checks the
checksums alone, for a warehouse that reads the parts from the lake itself (Redshift's COPY).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from loader.errors import LakeError
from loader.lake.manifest import Manifest, PartFile, manifest_key, reconcile_prefix
from loader.lake.storage import Lake
from loader.tables import CORRECTION_SCHEMA, EXTRACT_SCHEMA


def read_manifest(lake: Lake, run_date: dt.date) -> Manifest:
    """The latest manifest of ``run_date`` (the extract a load of that day loads)."""
    key = manifest_key(run_date)
    if not lake.exists(key):
        raise LakeError(
            f"no extract of {run_date} in {lake.url} ({key} is missing); "
            f"run `nps-loader extract --date {run_date}` first"
        )
    manifest = Manifest.from_json(lake.get_bytes(key), lake.uri(key))
    if manifest.run_date != run_date:
        raise LakeError(f"manifest {lake.uri(key)} is for {manifest.run_date}, not {run_date}")
    return manifest


@dataclass(frozen=True)
class Extract:
    """One day's extract as a load reads it: its manifest, its verified rows, its lake."""

    lake: Lake
    manifest: Manifest

    @classmethod
    def latest(cls, lake: Lake, run_date: dt.date) -> Extract:
        return cls(lake, read_manifest(lake, run_date))

    @classmethod
    def reconcile(cls, lake: Lake, reconcile_id: str) -> Extract:
        """A reconcile's corrections (its own folder and manifest)."""
        key = f"{reconcile_prefix(reconcile_id)}/_manifest.json"
        if not lake.exists(key):
            raise LakeError(f"no reconcile {reconcile_id} in {lake.url} ({key} is missing)")
        manifest = Manifest.from_json(lake.get_bytes(key), lake.uri(key))
        if manifest.kind != "reconcile" or manifest.extract_id != reconcile_id:
            raise LakeError(f"manifest {lake.uri(key)} is not the one of reconcile {reconcile_id}")
        return cls(lake, manifest)

    @property
    def schema(self) -> pa.Schema:
        return CORRECTION_SCHEMA if self.manifest.kind == "reconcile" else EXTRACT_SCHEMA

    def uri(self, key: str) -> str:
        return self.lake.uri(key)

    def verify(self) -> None:
        """Every part's size and sha256 against the manifest, without parsing it."""
        for part in self.manifest.files:
            self._verified_bytes(part)

    def batches(self, batch_rows: int = 100_000) -> Iterator[pa.RecordBatch]:
        """The rows, one part in memory at a time; each part is checked before any of its rows
        is yielded. Loads consume this inside their transaction, so a bad part rolls the whole
        day back."""
        for part in self.manifest.files:
            data, parquet = self._checked_part(part)
            for batch in parquet.iter_batches(batch_size=batch_rows):
                if batch.column(0).null_count:
                    raise LakeError(f"{self.uri(part.key)} has a null id; refusing to load")
                yield batch
            del data, parquet

    def part_files(self, folder: Path) -> Iterator[Path]:
        """The parts as private local files in ``folder``, one at a time, each written from the
        very bytes that passed the checks (for a warehouse that reads Parquet itself: DuckDB's
        reader keeps a large load's memory flat). A file is removed once the next is asked for."""
        for part in self.manifest.files:
            data, _ = self._checked_part(part)
            path = folder / f"verified-{Path(part.key).name}"
            try:
                path.write_bytes(data)
            except OSError as exc:
                path.unlink(missing_ok=True)
                raise LakeError(
                    f"cannot write the checked copy of {self.uri(part.key)} to {path}: "
                    f"{exc.strerror or exc} (the load's temporary folder: free space there or "
                    "set TMPDIR)"
                ) from None
            del data
            try:
                yield path
            finally:
                path.unlink(missing_ok=True)

    def _verified_bytes(self, part: PartFile) -> bytes:
        """A part's bytes, refused unless their size and sha256 match the manifest."""
        data = self.lake.get_bytes(part.key)
        if len(data) != part.bytes or hashlib.sha256(data).hexdigest() != part.sha256:
            raise LakeError(
                f"{self.uri(part.key)} does not match its manifest checksum (tampered or "
                "truncated); refusing to load: re-run the extract"
            )
        return data

    def _checked_part(self, part: PartFile) -> tuple[bytes, pq.ParquetFile]:
        """A part's verified bytes, refused unless they are Parquet of the extract schema with
        the manifest's row count."""
        data = self._verified_bytes(part)
        where = self.uri(part.key)
        try:
            parquet = pq.ParquetFile(io.BytesIO(data))
        except (pa.ArrowInvalid, OSError) as exc:
            raise LakeError(f"{where} is not a readable Parquet file: {exc}") from None
        if not parquet.schema_arrow.equals(self.schema):
            raise LakeError(f"{where} has schema {parquet.schema_arrow}, expected {self.schema}")
        if parquet.metadata.num_rows != part.rows:
            raise LakeError(
                f"{where} has {parquet.metadata.num_rows} rows, its manifest says {part.rows}"
            )
        return data, parquet
