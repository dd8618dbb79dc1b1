"""Every setting of the loader in one place: its flag, its environment variable, its default and
its validation. The command line is generated from :data:`OPTIONS`; :func:`from_values` turns
what it parsed into :class:`Settings`, returning warnings as data for the caller to print.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loader.dates import UTC, Window, parse_lookback, parse_timezone, utc_now
from loader.dbt_profile import Target, load_target
from loader.errors import ConfigError
from loader.identifiers import validate_warehouse_identifier
from loader.lake import Lake, open_lake
from loader.lake.storage import Encryption
from loader.source import SourceSpec
from loader.source.spec import DRIVERS
from loader.source.tls import SSL_MODES
from loader.warehouse import Warehouse, open_warehouse


@dataclass(frozen=True)
class Option:
    """One command-line option: ``--flag`` (its value named ``name``), env var, default."""

    name: str
    flag: str
    help: str
    env: str | None = None
    default: str | None = None
    choices: tuple[str, ...] = ()
    is_flag: bool = False
    metavar: str = "TEXT"


#: The options by group; each command takes the groups it uses (see loader/cli/options.py).
OPTIONS: dict[str, tuple[Option, ...]] = {
    "source": (
        Option(
            "source",
            "--source",
            "Required. mysql://user@host:3306/db (password: NPS_SOURCE_PASSWORD) or sqlite:///path",
            env="NPS_SOURCE_URL",
        ),
        Option("source_table", "--source-table", "The production table", "NPS_SOURCE_TABLE", "nps"),
        Option(
            "cursor_column",
            "--cursor-column",
            "Column set when a row changes",
            "NPS_CURSOR_COLUMN",
            "modified",
        ),
        Option(
            "deleted_column",
            "--deleted-column",
            "Soft-delete flag column, or 'none'",
            "NPS_DELETED_COLUMN",
            "deleted",
        ),
        Option(
            "driver",
            "--driver",
            "auto (connectorx when installed, else pymysql), pymysql or connectorx",
            "NPS_SOURCE_DRIVER",
            "auto",
            choices=DRIVERS,
            metavar="NAME",
        ),
        Option(
            "source_timezone",
            "--source-timezone",
            "Zone of the source's DATETIMEs (TIMESTAMPs are UTC)",
            "NPS_SOURCE_TIMEZONE",
            UTC,
        ),
        Option(
            "source_ssl_mode",
            "--source-ssl-mode",
            "TLS: REQUIRED, VERIFY_CA or VERIFY_IDENTITY (or ?ssl-mode= in the URL)",
            "NPS_SOURCE_SSL_MODE",
            choices=SSL_MODES,
            metavar="MODE",
        ),
        Option(
            "source_ssl_ca", "--source-ssl-ca", "CA certificate file (PEM)", "NPS_SOURCE_SSL_CA"
        ),
        Option(
            "source_ssl_cert",
            "--source-ssl-cert",
            "Client certificate file (PEM)",
            "NPS_SOURCE_SSL_CERT",
        ),
        Option("source_ssl_key", "--source-ssl-key", "Client key file (PEM)", "NPS_SOURCE_SSL_KEY"),
    ),
    "lake": (
        Option(
            "lake",
            "--lake",
            "s3://bucket/prefix or a folder (extracts go under <lake>/nps/)",
            "NPS_LAKE_URL",
            "./lake",
        ),
        Option(
            "lake_sse",
            "--lake-sse",
            "S3 encryption: AES256 or aws:kms (default: the bucket's)",
            "NPS_LAKE_SSE",
            choices=("AES256", "aws:kms"),
            metavar="KIND",
        ),
        Option(
            "lake_kms_key_id",
            "--lake-kms-key-id",
            "KMS key for aws:kms (default: aws/s3)",
            "NPS_LAKE_KMS_KEY_ID",
        ),
    ),
    "warehouse": (
        Option(
            "profiles_dir",
            "--profiles-dir",
            "Folder of profiles.yml (dbt's)",
            "DBT_PROFILES_DIR",
        ),
        Option("target", "--target", "dbt target (default: the profile's)", "DBT_TARGET"),
        Option(
            "raw_schema",
            "--raw-schema",
            "Schema of raw.nps and raw.nps_loads",
            "NPS_RAW_SCHEMA",
            "raw",
        ),
    ),
    "lookback": (
        Option(
            "lookback",
            "--lookback",
            "Extract from this long before midnight (90m, 1h, 2d or 0)",
            "NPS_LOOKBACK",
            "1h",
        ),
        Option(
            "allow_open_day",
            "--allow-open-day",
            "Extract a day that has not ended (a partial day)",
            is_flag=True,
        ),
    ),
    "reporting": (
        Option(
            "reporting_timezone",
            "--reporting-timezone",
            "Zone whose days the dates, marts and verify use (dbt: reporting_timezone)",
            "NPS_REPORTING_TIMEZONE",
            UTC,
        ),
    ),
    "zone_change": (
        Option(
            "change_reporting_timezone",
            "--change-reporting-timezone",
            "Switch the warehouse to --reporting-timezone (docs/operations.md)",
            is_flag=True,
        ),
    ),
}

DEFAULTS = {o.name: o.default for group in OPTIONS.values() for o in group}


@dataclass(frozen=True)
class Settings:
    """What a command runs with; built by :func:`from_values`, where every default is."""

    source: SourceSpec | None
    lake_url: str
    lake_encryption: Encryption
    profiles_dir: str | None
    target: str | None
    raw_schema: str
    lookback: dt.timedelta
    #: IANA zone whose midnights start and end a run date (the dbt var reporting_timezone)
    reporting_timezone: str
    #: extract a day that has not ended yet (normally refused: it would load a partial day)
    allow_open_day: bool
    #: this run switches the warehouse to ``reporting_timezone`` (docs/operations.md)
    change_reporting_timezone: bool

    def require_source(self) -> SourceSpec:
        if self.source is None:
            raise ConfigError("no source: pass --source or set NPS_SOURCE_URL")
        return self.source

    def lake(self) -> Lake:
        return open_lake(self.lake_url, self.lake_encryption)

    def warehouse_target(self) -> Target:
        return load_target(self.profiles_dir, self.target)

    def warehouse(self) -> Warehouse:
        return open_warehouse(self.warehouse_target(), self.raw_schema)

    def window(self, run_date: dt.date) -> Window:
        window = Window.for_day(run_date, self.lookback, self.reporting_timezone)
        now = utc_now()
        if not self.allow_open_day and not window.is_closed(now):
            raise ConfigError(
                f"{run_date} has not ended yet in {self.reporting_timezone} (it ends at "
                f"{window.end:%Y-%m-%d %H:%M} UTC): extracting it now would load a partial day; "
                "run it after it ends, or pass --allow-open-day"
            )
        return window


def from_values(
    values: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> tuple[Settings, list[str]]:
    """Settings from parsed option values (missing ones take their defaults), and the warnings
    about them. ``environ`` supplies NPS_SOURCE_PASSWORD (default: the process environment)."""
    env = os.environ if environ is None else environ

    def value(name: str) -> Any:
        given = values.get(name)
        return DEFAULTS.get(name) if given in (None, "") else given

    warnings = []
    source = None
    if value("source"):
        deleted = str(value("deleted_column"))
        source = SourceSpec(
            url=str(value("source")),
            table=str(value("source_table")),
            cursor_column=str(value("cursor_column")),
            deleted_column=None if deleted.lower() in ("", "none") else deleted,
            password=env.get("NPS_SOURCE_PASSWORD") or None,
            driver=value("driver"),  # checked by SourceSpec
            source_timezone=parse_timezone(str(value("source_timezone")), "--source-timezone"),
            ssl_mode=values.get("source_ssl_mode") or None,
            ssl_ca=values.get("source_ssl_ca") or None,
            ssl_cert=values.get("source_ssl_cert") or None,
            ssl_key=values.get("source_ssl_key") or None,
        )
        if source.url_has_password:
            warnings.append(
                "the source URL carries a password, which any user can read in `ps` and "
                "Airflow keeps in its rendered fields; put it in NPS_SOURCE_PASSWORD instead"
            )
    lake = str(value("lake"))
    if lake.rstrip("/").rsplit("/", 1)[-1] == "nps":
        warnings.append(
            f"--lake {lake} ends in /nps and extracts go under <lake>/nps/run_date=D/, so keys "
            "will read .../nps/nps/...; the lake is the folder or prefix that holds nps/ "
            "(e.g. s3://my-lake)"
        )
    settings = Settings(
        source=source,
        lake_url=lake,
        lake_encryption=Encryption(
            values.get("lake_sse") or None, values.get("lake_kms_key_id") or None
        ),
        profiles_dir=values.get("profiles_dir") or None,
        target=values.get("target") or None,
        raw_schema=validate_warehouse_identifier(str(value("raw_schema")), "--raw-schema"),
        lookback=parse_lookback(str(value("lookback"))),
        reporting_timezone=parse_timezone(str(value("reporting_timezone")), "--reporting-timezone"),
        allow_open_day=bool(values.get("allow_open_day")),
        change_reporting_timezone=bool(values.get("change_reporting_timezone")),
    )
    return settings, warnings


def source_spec(url: str, password: str | None = None, **options: str) -> SourceSpec:
    """A SourceSpec from a URL and options by their names in :data:`OPTIONS` (``source_table=``,
    ``deleted_column="none"``...), the rest at their defaults: as the command line builds it."""
    environ = {"NPS_SOURCE_PASSWORD": password} if password else {}
    return from_values({"source": url, **options}, environ)[0].require_source()
