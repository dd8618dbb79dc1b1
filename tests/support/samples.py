"""A sample manifest and Redshift settings for the tests that generate the loader's SQL."""

from __future__ import annotations

import datetime as dt

from loader.lake.manifest import Manifest, PartFile

ROLE = "arn:aws:iam::123456789012:role/nps-redshift-copy"
URI = "s3://nps-lake/prod/nps/run_date=2021-09-16/extract_id=20210917T003000000000Z-ab12cd34/copy.manifest"
LOADED_AT = dt.datetime(2021, 9, 17, 0, 31)


def manifest() -> Manifest:
    return Manifest(
        run_date=dt.date(2021, 9, 16),
        extract_id="20210917T003000000000Z-ab12cd34",
        window_start=dt.datetime(2021, 9, 15, 23),
        window_end=dt.datetime(2021, 9, 17),
        rows=5561,
        bytes=123456,
        files=(
            PartFile(
                "nps/run_date=2021-09-16/extract_id=x/part-00000.parquet", 5561, 123456, "0" * 64
            ),
        ),
        source_table="nps",
        cursor_column="modified",
        extracted_at=dt.datetime(2021, 9, 17, 0, 30),
        copy_manifest_key="nps/run_date=2021-09-16/extract_id=x/copy.manifest",
    )
