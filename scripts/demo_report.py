"""Print the demo's monthly NPS and the last days' NPS from the DuckDB warehouse."""

from __future__ import annotations

import os
import sys

import duckdb


def main() -> None:
    path = os.environ.get("NPS_DUCKDB_PATH", "warehouse.duckdb")
    days = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    con = duckdb.connect(path, read_only=True)
    try:
        print("\nMonthly NPS (analytics.nps_summary_monthly)")
        con.sql(
            "select response_month, responses, promoters, passives, detractors, nps "
            "from analytics.nps_summary_monthly order by response_month"
        ).show()
        print(f"\nLast {days} days (analytics.nps_summary_daily)")
        con.sql(
            "select response_date, responses, promoters, passives, detractors, nps "
            f"from analytics.nps_summary_daily order by response_date desc limit {days}"
        ).show()
        rejected = con.execute("select count(*) from analytics.nps_rejected_responses").fetchone()
        print(
            f"\n{rejected[0] if rejected else 0} responses quarantined in analytics.nps_rejected_responses"
        )
    finally:
        con.close()


if __name__ == "__main__":
    main()
