"""The dbt docs site, served on loopback and read in a real headless Chromium."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import http.server
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from loader.demo import generate_events, state_as_of
from tests.support.harness import ROOT, Stack, environ
from tests.support.http import serving
from tests.support.servers import unavailable
from tests.support.sources import MySQLSource, SqliteSource

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOT = ROOT / "docs" / "images" / "dbt-docs-nps-summary-monthly.png"


def serve(folder: Path) -> contextlib.AbstractContextManager[str]:
    return serving(functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder)))


def draw_charts(stack: Stack, source: SqliteSource | MySQLSource) -> None:
    """``nps-loader charts`` in-process (the DuckDB file stays the dbt run's), into the
    project's assets/ folder that dbt docs generate copies into the site."""
    from loader.charts import CHARTS, draw

    with environ(stack.full_env):
        drawn = draw(stack.settings(source), ROOT / "assets")
    assert [p.name for p in drawn.paths] == [name for name, _ in CHARTS.values()]


def build_site(
    stack: Stack, source: SqliteSource | MySQLSource, seed: int, days: int, per_day: int
) -> Path:
    """Load ``days`` days of generated answers, build the marts, draw the charts and generate
    the docs site; its folder."""
    start = dt.date(2021, 6, 1)
    source.write(state_as_of(generate_events(seed, start, days, per_day), None).values())
    for offset in range(days):
        stack.run_day(source, start + dt.timedelta(days=offset))
    stack.dbt("run")
    draw_charts(stack, source)
    stack.dbt("docs", "generate")
    return stack.workdir / "dbt-target"


def assert_charts_shown(page: Any) -> None:
    """Every chart of the overview is an image that loaded (naturalWidth > 0), with its alt
    text."""
    from loader.charts import CHARTS

    for _, alt in CHARTS.values():
        image = page.locator(f"img[alt='{alt}']")
        image.first.scroll_into_view_if_needed()
        page.wait_for_function(
            "alt => { const i = document.querySelector(`img[alt='${alt}']`);"
            " return i && i.complete && i.naturalWidth > 400; }",
            arg=alt,
            timeout=15_000,
        )


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.slow
def test_docs_show_lineage_and_the_nps_definition(duckdb_stack: Stack, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        unavailable("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    source = SqliteSource(tmp_path / "source.db")
    site = build_site(duckdb_stack, source, seed=3, days=3, per_day=50)
    assert (site / "index.html").exists() and (site / "catalog.json").exists()

    with serve(site) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            # the project overview an analyst lands on
            page.goto(f"{url}/#!/overview")
            page.wait_for_selector("text=Which model answers which question", timeout=30_000)
            overview = page.inner_text("body")
            assert "How fresh it is" in overview and "nps_summary_monthly" in overview
            assert_charts_shown(page)
            # a column description, rendered as text in the model's column list
            page.goto(f"{url}/#!/model/model.nps_warehouse.fct_nps_responses")
            page.wait_for_selector("text=The day the answer was given")
            page.goto(f"{url}/#!/model/model.nps_warehouse.nps_summary_monthly")
            page.wait_for_selector("text=NPS per calendar month", timeout=30_000)
            body = page.inner_text("body")
            # the NPS definition doc block, rendered in the column description
            assert "Net Promoter Score" in body
            assert "round(100.0 * (promoters - detractors) / responses, 2)" in body
            # the interval and significance columns, with their descriptions
            for column in (
                "nps_ci_low",
                "nps_ci_high",
                "is_small_sample",
                "change_is_significant",
                "certified_days",
            ):
                assert column in body, column
            assert "adjusted-Wald" in body and "|z| > 1.96" in body
            # the analysts' overview explains them with a worked example
            page.goto(f"{url}/#!/overview")
            page.wait_for_selector("text=How sure a number is", timeout=30_000)
            assert "-51.33 to 84.67" in page.inner_text("body")
            # ... and which days are proven equal to production
            assert "Is this day's number proven?" in page.inner_text("body")
            page.goto(f"{url}/#!/model/model.nps_warehouse.nps_summary_daily")
            page.wait_for_selector("text=last proven equal to the source", timeout=30_000)
            assert "certified_at" in page.inner_text("body")
            # the record of restatements, with its columns
            page.goto(f"{url}/#!/model/model.nps_warehouse.nps_restatements")
            page.wait_for_selector("text=a record of every restatement", timeout=30_000)
            restatements = page.inner_text("body")
            for column in ("old_nps", "new_nps", "removed_by_delete", "moved_between_categories"):
                assert column in restatements, column
            page.goto(f"{url}/#!/model/model.nps_warehouse.nps_summary_monthly")
            page.wait_for_selector("text=NPS per calendar month", timeout=30_000)
            # lineage: what the monthly summary is built from
            page.get_by_text("Depends On").first.scroll_into_view_if_needed()
            assert "int_nps_daily_counts" in page.inner_text("body")
            page.screenshot(path=str(tmp_path / "model.png"))
            # the lineage graph of the monthly summary, drawn by the docs site
            page.locator("a[title='View Lineage Graph']").first.click()
            page.wait_for_selector("#graph-viz-wrapper canvas", state="visible", timeout=15_000)
            page.wait_for_timeout(1500)  # let the layout settle before the picture
            page.screenshot(path=str(tmp_path / "lineage.png"))
            assert (tmp_path / "lineage.png").stat().st_size > 10_000
            if os.environ.get("NPS_UPDATE_SCREENSHOT"):
                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(tmp_path / "model.png", SCREENSHOT)
                shutil.copy(tmp_path / "lineage.png", SCREENSHOT.with_name("dbt-docs-lineage.png"))
        finally:
            browser.close()


@pytest.mark.slow
def test_the_overview_shows_the_charts_of_a_postgresql_warehouse(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The charts are drawn from the warehouse the site documents: here PostgreSQL, read
    through the loader's connection."""
    if not Path(CHROMIUM).exists():
        unavailable("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    from tests.support.stacks import make_factory

    stack, source = make_factory("postgres-mysql-s3", request)(tmp_path / "pg")
    site = build_site(stack, source, seed=5, days=4, per_day=60)
    with serve(site) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/#!/overview")
            page.wait_for_selector("text=The numbers at a glance", timeout=30_000)
            assert_charts_shown(page)
        finally:
            browser.close()
