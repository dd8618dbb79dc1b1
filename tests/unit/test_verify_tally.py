"""verify's count of the source: streamed batch by batch, so memory is flat in the range."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from loader import source_tally
from loader.settings import source_spec
from tests.support.sources import sqlite_source

D = dt.date(2021, 9, 16)


def test_verify_counts_the_source_as_it_streams(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory stays flat in the range's size: batches are counted and dropped as they come."""
    path = tmp_path / "big.db"
    rows = 400_000
    sqlite_source(
        path,
        (
            (
                i,
                f"2021-09-16 {i % 24:02d}:00:00.000000",
                f"2021-09-16 {i % 24:02d}:30:00.000000",
                0,
                i % 11,
            )
            for i in range(rows)
        ),
    )
    peak = 0
    real = source_tally.read_rows

    def watched(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        nonlocal peak
        for batch in real(*args, **kwargs):  # type: ignore[arg-type]
            peak = max(peak, pa.total_allocated_bytes())
            yield batch

    monkeypatch.setattr(source_tally, "read_rows", watched)
    before = pa.total_allocated_bytes()
    result = source_tally.tally(
        source_spec(f"sqlite:///{path}"), D, D, "UTC", dt.datetime(2021, 9, 17)
    )
    assert sum(map(sum, result.counts.values())) == rows
    whole_range = rows * (8 + 8 + 8 + 1 + 2)  # what holding every row at once would take
    assert peak - before < whole_range * 0.4, (peak - before, whole_range)
