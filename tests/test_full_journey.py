"""The journey a new user would recognise, in one real Chromium session on a fresh workspace:
load the demo → search for a concept → bulk-label a selection → auto-label and accept → review three
rows with the keyboard → Issues and Clean Top K → export CSV and read it back. Every step is
screenshotted, and a Streamlit exception box on any page fails the test."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from core.workspace import Workspace
from tests.browser import VIEWPORT, chromium, eventually, running_app, screenshot, wait_until_idle
from tests.test_browser_journey import (
    INGEST_TIMEOUT_MS,
    NEWS_DEMO,
    App,
    choose_option,
    choose_source,
    dataset_picker,
    go_to,
    main,
    open_upload_page,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def fresh_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    root = tmp_path_factory.mktemp("full-journey")
    with running_app(root / "workspace", root / "streamlit.log") as url:
        yield App(url, root / "workspace")


@pytest.fixture
def page(fresh_app: App) -> Iterator[Page]:
    with chromium() as browser:
        context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        context.set_default_timeout(30_000)
        yield context.new_page()


def sources(app: App) -> dict[str, int]:
    ws = Workspace(app.workspace)
    counts: dict[str, int] = {}
    for s in ws.store.row_states(ws.store.row_ids(ws.dataset(NEWS_DEMO).id)).values():
        counts[s["label_source"] or "none"] = counts.get(s["label_source"] or "none", 0) + 1
    return counts


def step_done(page: Page, name: str) -> None:
    """Wait for the rerun to end, fail on any exception box, keep a screenshot."""
    wait_until_idle(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, f"journey_{name}.png")


@pytest.mark.timeout(1800)  # its steps may each take minutes on a busy machine (model load, ingest, training)
def test_new_user_journey_from_demo_to_exported_csv(fresh_app: App, page: Page, tmp_path: Path) -> None:
    app = fresh_app
    # 1. Load the demo dataset.
    open_upload_page(page, app)
    choose_source(page, "Demo dataset")
    main(page).get_by_test_id("stHorizontalBlock").filter(has_text=NEWS_DEMO).get_by_role("button", name="Load").click()
    expect(main(page).get_by_text(f"'{NEWS_DEMO}' is ready")).to_be_visible(timeout=INGEST_TIMEOUT_MS)
    step_done(page, "1_demo_loaded")
    start = sources(app)
    assert start == {"original": 425, "none": 1075}

    # 2. Search for a concept, tick three results, bulk-label them.
    page.goto(app.url)
    go_to(page, "Search")
    choose_option(page, dataset_picker(page), NEWS_DEMO)
    query = main(page).get_by_label("Describe what you are looking for")
    query.fill("oil prices and energy markets")
    query.press("Enter")
    expect(main(page).get_by_text("results, best first")).to_be_visible(timeout=INGEST_TIMEOUT_MS)
    wait_until_idle(page)
    grid = page.frame_locator('iframe[title*="st_aggrid"]').last
    for i in range(3):
        grid.locator(".ag-row input[type=checkbox]").nth(i).click()
        wait_until_idle(page)
    expect(main(page).get_by_text("3 rows selected", exact=True)).to_be_visible()
    choose_option(page, main(page).get_by_role("combobox", name="Class", exact=True), "Business")
    main(page).get_by_role("button", name="Classify 3 rows").click()
    expect(main(page).get_by_role("button", name="Undo: Set 'Business' as label on")).to_be_visible(timeout=60_000)
    step_done(page, "2_search_bulk_labeled")
    assert sources(app).get("bulk") == 3

    # 3. Auto-label and accept.
    go_to(page, "Auto-label")
    main(page).get_by_role("button", name="Train and predict").click()
    promise = main(page).get_by_text("will be auto-labeled; we expect about")
    expect(promise).to_be_visible(timeout=INGEST_TIMEOUT_MS)
    wait_until_idle(page)
    n_auto = int(promise.inner_text().split(" of ")[0].replace(",", ""))
    main(page).get_by_role("button", name=f"Accept {n_auto:,} auto-labels").click()
    expect(main(page).get_by_role("button", name=f"Accepted: {n_auto:,} auto-labels")).to_be_visible()
    wait_until_idle(page)
    step_done(page, "3_auto_labeled")
    assert n_auto > 0 and eventually(lambda: sources(app).get("auto") == n_auto)

    # 4. Review three rows with the keyboard.
    main(page).get_by_text("2 · Review", exact=True).click()
    progress = main(page).get_by_text("rows in this queue decided")
    expect(progress).to_have_text("0 of 20 rows in this queue decided")
    wait_until_idle(page)
    for key, done in (("1", 1), ("2", 2), ("w", 3)):
        page.keyboard.press(key)
        expect(progress).to_have_text(f"{done} of 20 rows in this queue decided")
        wait_until_idle(page)
    step_done(page, "4_reviewed_three")
    reviewed = sources(app)
    assert reviewed.get("human", 0) == 2 and reviewed.get("suggestion_accepted", 0) == 1

    # 5. Issues: find them and clean the top K.
    go_to(page, "Issues")
    main(page).get_by_role("button", name="Find issues").click()
    expect(main(page).get_by_text("Issues by class (click a bar to filter the table)")).to_be_visible(
        timeout=INGEST_TIMEOUT_MS
    )
    wait_until_idle(page)
    clean = main(page).get_by_role("button", name="Clean top")
    label = clean.inner_text().strip()
    k = int(label.rsplit(" ", 1)[-1])
    clean.click()
    expect(main(page).get_by_role("button", name=f"Undo: Auto-fixed {k} of {k} rows")).to_be_visible()
    step_done(page, "5_issues_cleaned")

    # 6. Export CSV, download it, read it back.
    go_to(page, "Export")
    expect(page.get_by_role("heading", name="Export")).to_be_visible()
    expect(main(page).get_by_text("1,500 rows", exact=True)).to_be_visible()  # not Issues' "0.4% of 1,500 rows"
    main(page).get_by_role("button", name="Export", exact=True).click()
    expect(main(page).get_by_text("Exported 1,500 rows")).to_be_visible()
    step_done(page, "6_exported")
    with page.expect_download() as download:
        main(page).get_by_test_id("stDownloadButton").first.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    with saved.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1_500
    exported = {}
    for row in rows:
        exported[row["label_source"] or "none"] = exported.get(row["label_source"] or "none", 0) + 1
    assert exported == sources(app)
    assert {"original", "bulk", "auto", "human", "suggestion_accepted"} <= set(exported)
