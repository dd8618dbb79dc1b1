"""``COPY table FROM 's3://.../x.manifest' IAM_ROLE '...' FORMAT AS PARQUET MANIFEST``.

The manifest and its Parquet parts are read from the S3 server at ``AWS_ENDPOINT_URL`` and
loaded by position with Redshift's type mapping for columnar formats; what Redshift's COPY
refuses is refused the same way (AWS: "COPY from columnar data formats",
https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-columnar.html):
a manifest entry without ``meta.content_length``, a part whose size differs from it, a column
count that differs from the table's, a Parquet type the column cannot take.
"""

from __future__ import annotations

import io
import json
import os
import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

COPY_PAGE = (
    "https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-columnar.html"
)

_COPY = re.compile(
    r"^\s*copy\s+(?P<table>[\w.\"]+)\s+from\s+'(?P<uri>s3://[^']+)'\s+(?P<options>.*?)\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)

#: Environment switch for the tests: a known Redshift fault (apache/arrow#38000: pyarrow
#: timestamps loaded with the wrong unit), so a test can show the load refuses what it stages.
FAULT_ENV = "REDSHIFT_EMULATOR_FAULT"


class CopyError(Exception):
    pass


def is_copy(sql: str) -> bool:
    return re.match(r"^\s*copy\s", sql, re.IGNORECASE) is not None


@dataclass(frozen=True)
class CopyStatement:
    table: str
    uri: str
    manifest: bool


def parse(sql: str) -> CopyStatement:
    match = _COPY.match(sql)
    if not match:
        raise CopyError(f"the emulator runs COPY ... FROM 's3://...' only: {sql[:200]}")
    options = " ".join(match["options"].lower().split())
    if (
        not re.search(r"\biam_role\s+'arn:aws[a-z-]*:iam::\d{12}:role/[^']+'", options)
        and "iam_role default" not in options
    ):
        raise CopyError("COPY needs IAM_ROLE 'arn:aws:iam::<account>:role/<name>' (or CREDENTIALS)")
    if "format as parquet" not in options:
        raise CopyError(f"the emulator's COPY reads FORMAT AS PARQUET only: {options}")
    rest = re.sub(r"iam_role\s+('[^']*'|default)|format as parquet|manifest", "", options).strip()
    if rest:
        # AWS: with columnar formats COPY takes no data-conversion or format parameters
        raise CopyError(f"COPY with FORMAT AS PARQUET does not take {rest!r} (AWS: {COPY_PAGE})")
    return CopyStatement(match["table"], match["uri"], " manifest" in f" {options}")


def _s3() -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def _compatible(column_type: str, arrow_type: pa.DataType) -> bool:
    """Redshift's mapping of Parquet types to column types (by position)."""
    t = column_type.lower()
    if t in ("bigint", "int8"):
        return pa.types.is_integer(arrow_type) and arrow_type.bit_width <= 64
    if t in ("integer", "int", "int4"):
        return pa.types.is_integer(arrow_type) and arrow_type.bit_width <= 32
    if t in ("smallint", "int2"):
        return pa.types.is_integer(arrow_type) and arrow_type.bit_width <= 16
    if t == "boolean":
        return pa.types.is_boolean(arrow_type)
    if t.startswith("timestamp without time zone") or t == "timestamp":
        return pa.types.is_timestamp(arrow_type) and arrow_type.tz is None
    if t.startswith("timestamp with time zone"):
        return pa.types.is_timestamp(arrow_type)
    if t == "date":
        return pa.types.is_date(arrow_type)
    if t.startswith(("character varying", "character", "text", "varchar", "char")):
        return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
    if t.startswith("numeric"):
        return pa.types.is_decimal(arrow_type) or pa.types.is_integer(arrow_type)
    if t == "double precision":
        return pa.types.is_floating(arrow_type)
    if t == "real":
        return pa.types.is_float32(arrow_type)
    return False


def _columns(cur: Any, table: str) -> list[tuple[str, str]]:
    cur.execute(
        "select attname, format_type(atttypid, atttypmod) from pg_attribute "
        "where attrelid = %s::regclass and attnum > 0 and not attisdropped order by attnum",
        (table,),
    )
    return [(str(r[0]), str(r[1])) for r in cur.fetchall()]


def _with_fault(table: pa.Table) -> pa.Table:
    if os.environ.get(FAULT_ENV) != "timestamp_unit":
        return table
    # the stored microseconds read as nanoseconds: every timestamp lands in January 1970
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            micros = pc.cast(table.column(i), pa.int64())
            wrong = pc.cast(pc.divide(micros, 1000), pa.timestamp("us"))
            table = table.set_column(i, field.name, wrong)
    return table


def run(cur: Any, sql: str) -> int:
    """Run the COPY on ``cur`` (the session's cursor, inside its transaction); the row count."""
    statement = parse(sql)
    s3 = _s3()
    bucket, key = _split(statement.uri)
    if statement.manifest:
        body = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        entries = body["entries"]
    else:
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", [])
        entries = [
            {"url": f"s3://{bucket}/{o['Key']}", "meta": {"content_length": o["Size"]}}
            for o in listing
        ]
    columns = _columns(cur, statement.table)
    loaded = 0
    for entry in entries:
        url = entry["url"]
        length = (entry.get("meta") or {}).get("content_length")
        if statement.manifest and length is None:
            raise CopyError(
                f"manifest entry {url} has no meta.content_length, which COPY requires for "
                f"columnar files (AWS: {COPY_PAGE})"
            )
        part_bucket, part_key = _split(url)
        data = s3.get_object(Bucket=part_bucket, Key=part_key)["Body"].read()
        if length is not None and int(length) != len(data):
            raise CopyError(
                f"{url}: content_length {length} in the manifest, {len(data)} bytes in S3"
            )
        table = pq.read_table(io.BytesIO(data))
        if table.num_columns != len(columns):
            raise CopyError(
                f"Unmatched number of columns between table and file. Table columns: "
                f"{len(columns)}, Data columns: {table.num_columns} ({url})"
            )
        for (name, column_type), field in zip(columns, table.schema, strict=True):
            if not _compatible(column_type, field.type):
                raise CopyError(
                    f"Spectrum Scan Error: file '{url}' has an incompatible Parquet schema for "
                    f"column '{name}'. Column type: {column_type}, Parquet schema: {field.type}"
                )
        table = _with_fault(table).rename_columns([name for name, _ in columns])
        buffer = io.BytesIO()
        pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False))
        buffer.seek(0)
        cur.copy_expert(f"copy {statement.table} from stdin with (format csv)", buffer)
        loaded += table.num_rows
    cur.execute("select set_config('redshift_emulator.last_copy_count', %s, false)", (str(loaded),))
    return loaded
