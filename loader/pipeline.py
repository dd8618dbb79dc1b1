"""The loader's operations: extract a day, load a day, run both, verify. No CLI concerns here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from loader.dates import Window
from loader.errors import ConfigError
from loader.extract import Manifest, extract_day, iter_extract, read_manifest
from loader.lake import Lake, open_lake
from loader.profile import Target, load_target
from loader.source import SourceSpec
from loader.warehouse import LoadResult, Warehouse, open_warehouse


@dataclass(frozen=True)
class Settings:
    source: SourceSpec | None
    lake_url: str
    profiles_dir: str | None
    target: str | None
    raw_schema: str
    lookback: dt.timedelta

    def require_source(self) -> SourceSpec:
        if self.source is None:
            raise ConfigError("no source: pass --source or set NPS_SOURCE_URL")
        return self.source

    def lake(self) -> Lake:
        return open_lake(self.lake_url)

    def warehouse_target(self) -> Target:
        return load_target(self.profiles_dir, self.target)

    def warehouse(self) -> Warehouse:
        return open_warehouse(self.warehouse_target(), self.raw_schema)


def extract(settings: Settings, run_date: dt.date) -> Manifest:
    return extract_day(
        settings.require_source(), settings.lake(), Window.for_day(run_date, settings.lookback)
    )


def load(settings: Settings, run_date: dt.date, warehouse: Warehouse | None = None) -> LoadResult:
    lake = settings.lake()
    manifest = read_manifest(lake, run_date)
    # Streamed part by part inside the load's transaction: a part that fails its checksum rolls
    # the day back before anything is committed.
    batches = iter_extract(lake, manifest)
    owned = warehouse is None
    wh = warehouse or settings.warehouse()
    try:
        return wh.replace_day(manifest, batches, lake)
    finally:
        if owned:
            wh.close()


def run(settings: Settings, run_date: dt.date, warehouse: Warehouse | None = None) -> LoadResult:
    extract(settings, run_date)
    return load(settings, run_date, warehouse)
