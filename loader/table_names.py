"""The tables the loader reads and writes besides raw.nps's load, named in one place: the raw
tables in the raw schema and this project's models in the dbt target's schema."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from loader.identifiers import validate_warehouse_identifier

if TYPE_CHECKING:
    from loader.settings import Settings


@dataclass(frozen=True)
class TableNames:
    schema: str  # the dbt target's schema (the models)
    raw_schema: str  # the loader's raw schema

    def __post_init__(self) -> None:
        validate_warehouse_identifier(self.schema, "the dbt target schema")
        validate_warehouse_identifier(self.raw_schema, "--raw-schema")

    @classmethod
    def of(cls, settings: Settings) -> TableNames:
        return cls(settings.warehouse_target().schema, settings.raw_schema)

    @property
    def loads(self) -> str:
        return f"{self.raw_schema}.nps_loads"

    @property
    def current_state(self) -> str:
        return f"{self.schema}.int_nps_responses_current"

    @property
    def daily_counts(self) -> str:
        return f"{self.schema}.int_nps_daily_counts"

    @property
    def summary_daily(self) -> str:
        return f"{self.schema}.nps_summary_daily"

    @property
    def responses(self) -> str:
        return f"{self.schema}.fct_nps_responses"
