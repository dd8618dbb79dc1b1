"""Print the demo's monthly NPS and the last days' NPS from the DuckDB warehouse."""

from __future__ import annotations

import os
import sys

import duckdb

NEXT = """
What you just saw
  - nps-loader demo-source wrote a synthetic production table (demo/source.db): four months of
    answers with updates, soft deletes, undeletes, late commits and a few invalid scores.
  - nps-loader backfill extracted each day into demo/lake (Parquet + manifests) and loaded it into
    demo/warehouse.duckdb (raw.nps: {loaded} rows for {source_rows} responses: raw keeps every
    version, and each day's extract starts an hour before midnight, so rows changed in that hour
    are read twice; the marts count each response once).
  - dbt build made the marts and ran the tests. {quarantined} answers with an invalid score are
    quarantined: the test has_no_rows on nps_rejected_responses warns about them on purpose, and
    no_day_looks_broken warns about the {flagged} days nps_day_monitors flags (about 5% of days
    move beyond their sample's error by chance at the 95% level).
  - One more day ran incrementally, and nps-loader verify proved every day equal to the source.
  - nps-loader charts drew the demo's charts: {chart} (and nps_monthly.png,
    nps_responses.png beside it), which `make docs` shows in the dbt docs overview.

What to run next
  make demo-shell                      # .venv + demo.env: dbt and nps-loader on the demo
  dbt run --vars '{{run_date: 2021-09-30}}'   # fold a loaded day into the marts
  nps-loader verify --start 2021-09-01 --end 2021-09-30
  mf query --metrics nps --group-by metric_time__month   # the semantic layer's NPS
  nps-loader reconcile --start 2021-09-01 --end 2021-09-30   # what a cursor cannot see (dry run)
  make docs && dbt docs serve          # the analysts' site, on the demo warehouse
  make demo VERBOSE=1                  # the demo again, with dbt's full log
"""


def _counts(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    raw = con.execute("select count(*) from raw.nps").fetchone()
    source = con.execute("select count(distinct id) from raw.nps").fetchone()
    return (raw[0] if raw else 0, source[0] if source else 0)


def main() -> None:
    path = os.environ.get("NPS_DUCKDB_PATH", "warehouse.duckdb")
    days = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    con = duckdb.connect(path, read_only=True)
    try:
        print("\nMonthly NPS with its 95% interval (analytics.nps_summary_monthly)")
        con.sql(
            "select response_month, responses, nps, nps_ci_low, nps_ci_high, nps_change, "
            "change_is_significant from analytics.nps_summary_monthly order by response_month"
        ).show()
        print(f"\nLast {days} days (analytics.nps_summary_daily; * = fewer than 30 answers)")
        con.sql(
            "select response_date, responses, nps, nps_ci_low, nps_ci_high, "
            "case when is_small_sample then '*' else '' end as small "
            f"from analytics.nps_summary_daily order by response_date desc limit {days}"
        ).show()
        rejected = con.execute("select count(*) from analytics.nps_rejected_responses").fetchone()
        quarantined = rejected[0] if rejected else 0
        print(f"\n{quarantined} responses quarantined in analytics.nps_rejected_responses")
        flagged_row = con.execute(
            "select count(*) from analytics.nps_day_monitors where is_low_volume or is_unusual_nps"
        ).fetchone()
        flagged = flagged_row[0] if flagged_row else 0
        loaded, source_rows = _counts(con)
        chart = os.path.abspath(
            os.path.join(os.environ.get("NPS_CHARTS_DIR", "assets"), "nps_daily.png")
        )
        print(
            NEXT.format(
                quarantined=quarantined,
                flagged=flagged,
                loaded=loaded,
                source_rows=source_rows,
                chart=chart,
            )
        )
    finally:
        con.close()


if __name__ == "__main__":
    main()
