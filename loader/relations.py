"""The dbt relations the loader reads (verify), named in one place: the models of this
project in the dbt target's schema, and the raw tables in the raw schema."""

from __future__ import annotations

from dataclasses import dataclass

from loader.identifiers import validate_warehouse_identifier


@dataclass(frozen=True)
class Relations:
    schema: str  # the dbt target's schema (the models)
    raw_schema: str  # the loader's raw schema

    def __post_init__(self) -> None:
        validate_warehouse_identifier(self.schema, "the dbt target schema")
        validate_warehouse_identifier(self.raw_schema, "--raw-schema")

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
