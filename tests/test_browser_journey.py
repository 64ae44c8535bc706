"""Journeys in headless Chromium through the real app: upload a CSV, refuse a binary file, load image demo,
search and label a selection in bulk, then undo it.

One Streamlit server (own workspace) serves the module; each journey opens a fresh browser session.
Screenshots go to ``test-artifacts/browser/`` for a human to look at.
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from core.workspace import Workspace
from tests.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWPORT,
    eventually,
    running_app,
    screenshot,
    wait_until_idle,
)
from tests.conftest import shared

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REVIEWS_ROWS = 300
REVIEWS_NAME = "Reviews journey"
IMAGES_DEMO = "Demo - CIFAR-10 (200)"
INGEST_TIMEOUT_MS = 180_000
SEARCH_ROWS = 150
SEARCH_NAME = "Search journey"
SEARCH_QUERY = "a funny and charming film"
SEARCH_KEYWORD = "FiLm"  # mixed case on purpose: the filter is case-insensitive
NEW_CLASS = "about film"


@dataclass(frozen=True)
class App:
    url: str
    workspace: Path

    def dataset_names(self) -> list[str]:
        return [d.name for d in Workspace(self.workspace).datasets()]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    root = tmp_path_factory.mktemp("browser-app")
    workspace = root / "workspace"
    with running_app(workspace, root / "streamlit.log") as url:
        yield App(url, workspace)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}; deselect these tests with -m 'not browser'")
    expect.set_options(timeout=30_000)  # a Streamlit rerun with charts and a grid takes a few seconds
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            expect.set_options(timeout=5_000)  # Playwright's default, for any other module


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context, so each journey gets its own Streamlit session."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def reviews_csv(tmp_path: Path) -> Path:
    """The first 300 SST-2 dev reviews, written as a user would export them."""
    with shared("sst2/sst2_glue_dev_872.csv").open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["sentence", "label", "label_name"]
        rows = [row for _, row in zip(range(REVIEWS_ROWS), reader, strict=False)]
    assert len(rows) == REVIEWS_ROWS
    path = tmp_path / "reviews.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["sentence", "label", "label_name"])
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def unlabeled_csv(tmp_path: Path) -> Path:
    """The first 150 SST-2 dev reviews with their class names; the journey ingests them without labels."""
    with shared("sst2/sst2_glue_dev_872.csv").open(newline="", encoding="utf-8") as f:
        rows = [{"sentence": r["sentence"], "label_name": r["label_name"]} for r in csv.DictReader(f)]
    path = tmp_path / "search_journey.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["sentence", "label_name"])
        writer.writeheader()
        writer.writerows(rows[:SEARCH_ROWS])
    return path


def csv_rows_containing(path: Path, keyword: str) -> int:
    with path.open(newline="", encoding="utf-8") as f:
        return sum(keyword.lower() in row["sentence"].lower() for row in csv.DictReader(f))


def sidebar(page: Page):
    return page.get_by_test_id("stSidebar")


def main(page: Page):
    return page.get_by_test_id("stMain")


def dataset_picker(page: Page):
    return sidebar(page).get_by_role("combobox", name="Dataset")


def live(scope):
    """The elements of ``scope`` that are not stale copies: while a rerun draws an element at a new
    place, Streamlit keeps the old one (``data-stale``) until the run ends."""
    return scope.locator('[data-testid="stElementContainer"]:not([data-stale="true"])')


def metric(scope, label: str):
    """The value of the st.metric whose label is ``label`` inside ``scope``."""
    title = scope.page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)  # not "Unlabeled"
    return live(scope).get_by_test_id("stMetric").filter(has=title).get_by_test_id("stMetricValue")


def aggrid(page: Page):
    return page.frame_locator('iframe[title*="st_aggrid"]').first


def go_to(page: Page, title: str) -> None:
    wait_until_idle(page)  # a click while the first run is still going can be lost
    # exact: until app.py's first run ends, Streamlit shows its own nav of pages/ ("search", "upload", ...),
    # whose links open a page without app.py (no sidebar); the app's own links are capitalised.
    sidebar(page).get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()


def open_upload_page(page: Page, app: App) -> None:
    page.goto(app.url)  # the root goes to Browse when there are datasets: open Upload by its nav link
    go_to(page, "Upload")
    expect(page.get_by_role("heading", name="Upload a dataset")).to_be_visible()


def choose_option(page: Page, combobox, option: str) -> None:
    """Pick ``option`` in a Streamlit selectbox (a BaseWeb combobox with a popover list)."""
    if combobox.input_value() == option:
        return
    combobox.click()
    page.get_by_role("option", name=option, exact=True).click()
    expect(combobox).to_have_value(option)
    wait_until_idle(page)


def choose_source(page: Page, source: str) -> None:
    option = main(page).get_by_role("radio", name=source)
    if not option.is_checked():
        main(page).get_by_test_id("stRadioOption").filter(has_text=source).click()
    expect(option).to_be_checked()


# Recorded at every change of the main area while a live progress bar is on it (not one faded itself: a
# rerun, as the one after the ingest, fades the whole page for a moment): whether a widget of the Upload
# form is there too, any faded (stale) element with text, and whether the bar is below the first screen.
WATCH_INGEST_JS = """() => {
    const seen = window.__ingestSeen = {looks: 0, form: 0, stale: [], belowFold: 0};
    const area = document.querySelector('[data-testid="stMain"]');
    new MutationObserver(() => {
        const bar = [...area.querySelectorAll('[data-testid="stProgress"]')].find(
            b => !b.closest('[data-stale="true"]'));
        if (!bar) return;
        seen.looks += 1;
        if ([...area.querySelectorAll('label')].some(l => l.innerText.includes('Text column(s)'))) seen.form += 1;
        for (const e of area.querySelectorAll('[data-stale="true"]')) {
            const text = e.innerText.trim();
            if (text && seen.stale.length < 20) seen.stale.push(text.slice(0, 60));
        }
        if (bar.getBoundingClientRect().bottom > window.innerHeight) seen.belowFold += 1;
    }).observe(area, {subtree: true, childList: true, attributes: true, characterData: true});
}"""


def test_upload_csv_then_browse(app: App, page: Page, reviews_csv: Path) -> None:
    landing_on_upload = not app.dataset_names()
    page.goto(app.url)
    if landing_on_upload:  # an empty workspace sends a new user straight to Upload
        expect(page.get_by_role("heading", name="Upload a dataset")).to_be_visible()
        expect(sidebar(page).get_by_text("No datasets yet")).to_be_visible()
    else:
        open_upload_page(page, app)
    choose_source(page, "Upload a file")

    page.set_input_files("input[type=file]", str(reviews_csv))
    expect(metric(main(page), "Rows")).to_have_text(f"{REVIEWS_ROWS:,}")
    expect(metric(main(page), "Classes")).to_have_text("2")
    preview = aggrid(page)
    expect(preview.get_by_role("columnheader", name="text")).to_be_visible()
    expect(preview.get_by_text("it 's a charming and often affecting journey .").first).to_be_visible()

    name = main(page).get_by_label("Dataset name")
    expect(name).to_have_value("reviews")  # proposed from the file name
    name.fill(REVIEWS_NAME)
    name.press("Enter")
    wait_until_idle(page)
    expect(name).to_have_value(REVIEWS_NAME)
    screenshot(page, "01_upload_preview.png")

    page.evaluate(WATCH_INGEST_JS)
    main(page).get_by_role("button", name=f"Ingest {REVIEWS_ROWS:,} rows").click()
    # While it embeds: what goes in and the bar at the top, and no faded copy of the form around them.
    expect(main(page).get_by_text("into the new dataset")).to_be_visible()
    screenshot(page, "01b_ingesting.png")
    expect(main(page).get_by_text(f"'{REVIEWS_NAME}' is ready")).to_be_visible(timeout=INGEST_TIMEOUT_MS)
    seen = page.evaluate("window.__ingestSeen")
    assert seen["looks"] and not seen["form"] and not seen["stale"] and not seen["belowFold"], seen
    expect(main(page).get_by_text(f"{REVIEWS_ROWS:,} rows embedded")).to_be_visible()
    wait_until_idle(page)
    assert app.dataset_names() == [REVIEWS_NAME]
    expect(dataset_picker(page)).to_have_value(REVIEWS_NAME)  # the sidebar follows without a click
    expect(metric(sidebar(page), "Rows")).to_have_text(f"{REVIEWS_ROWS:,}")
    screenshot(page, "02_ingested.png")

    go_to(page, "Browse")
    expect(main(page).get_by_role("heading", name=REVIEWS_NAME)).to_be_visible()
    expect(metric(main(page), "Rows")).to_have_text(f"{REVIEWS_ROWS:,}")
    expect(main(page).get_by_text(f"{REVIEWS_ROWS:,} matching rows")).to_be_visible()
    expect(dataset_picker(page)).to_have_value(REVIEWS_NAME)
    expect(metric(sidebar(page), "Rows")).to_have_text(f"{REVIEWS_ROWS:,}")
    grid = aggrid(page)
    first = grid.get_by_role("row").filter(has_text="it 's a charming and often affecting journey .")
    expect(first).to_contain_text("positive")  # the label_name column, picked as the label
    wait_until_idle(page)
    screenshot(page, "03_browse.png")

    # Every filter's label is read whole at 1400 px (the toggles' were cut before they had a row of their own).
    widths = (
        main(page)
        .get_by_test_id("stWidgetLabel")
        .evaluate_all("labels => labels.map(l => [l.innerText, l.scrollWidth - l.clientWidth])")
    )
    assert len(widths) >= 8 and [name for name, overflow in widths if overflow > 1] == [], widths
    first.get_by_role("gridcell").nth(1).click()  # a click on a row reads it in full below the table
    expect(main(page).get_by_text("Shown as the file had it.")).to_be_visible()
    keyword = main(page).get_by_role("textbox", name="Text contains")
    keyword.fill("zzqqxx")
    keyword.press("Enter")
    expect(main(page).get_by_text("No row matches the filters.", exact=False)).to_be_visible()
    wait_until_idle(page)
    expect(page.locator('iframe[title*="st_aggrid"]')).to_have_count(0)  # no empty grid under it
    screenshot(page, "03b_browse_nothing_matches.png")


def test_binary_file_is_refused(app: App, page: Page, tmp_path: Path) -> None:
    before = app.dataset_names()
    rng = random.Random(20240611)
    garbage = bytearray(rng.randbytes(2048))
    for i in range(0, len(garbage), 97):  # NULs, starting at byte 0 so it never opens with a UTF-16 BOM
        garbage[i] = 0
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(garbage))

    open_upload_page(page, app)
    choose_source(page, "Upload a file")
    page.set_input_files("input[type=file]", str(junk))

    error = main(page).locator('[data-testid="stAlert"], [data-testid="stException"]').filter(has_text="binary")
    expect(error).to_be_visible()
    expect(error).to_contain_text("junk.csv")
    expect(main(page).get_by_role("button", name="Ingest")).to_have_count(0)
    wait_until_idle(page)
    screenshot(page, "05_binary_refused.png")
    assert app.dataset_names() == before


def test_an_image_given_to_the_table_uploader_is_refused_inline_with_a_hint(
    app: App, page: Page, tmp_path: Path
) -> None:
    before = app.dataset_names()
    picture = tmp_path / "cat.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))

    open_upload_page(page, app)
    choose_source(page, "Upload a file")
    page.set_input_files("input[type=file]", str(picture))

    error = main(page).locator('[data-testid="stAlert"]').filter(has_text="cat.png is a single image")
    expect(error).to_be_visible()  # said on the page, not only on hover of the file's chip
    expect(error).to_contain_text("ZIP of its folder")
    expect(error).to_contain_text("Path on the server")
    assert app.dataset_names() == before


def test_image_demo_pause_resume_and_thumbnails(app: App, page: Page) -> None:
    open_upload_page(page, app)
    choose_source(page, "Demo dataset")
    row = main(page).get_by_test_id("stHorizontalBlock").filter(has_text=IMAGES_DEMO)
    row.get_by_role("button", name="Load").click()
    # Pause after the first chunk (8 of 200 images): the run stops after the chunk it is embedding.
    expect(main(page).get_by_text(re.compile(r"Embedded \d+ of 200 images"))).to_be_visible(timeout=INGEST_TIMEOUT_MS)
    main(page).get_by_role("button", name="Pause").click()
    unfinished = main(page).get_by_text(re.compile(r"rows done · paused by the user"))
    expect(unfinished).to_contain_text(IMAGES_DEMO)
    wait_until_idle(page)
    screenshot(page, "06_demo_paused.png")
    main(page).get_by_role("button", name="Resume").click()
    expect(main(page).get_by_text(f"'{IMAGES_DEMO}': 200 of 200 rows embedded.")).to_be_visible(
        timeout=INGEST_TIMEOUT_MS
    )
    expect(unfinished).to_have_count(0)
    wait_until_idle(page)
    assert IMAGES_DEMO in app.dataset_names()
    screenshot(page, "06_demo_loaded.png")

    # The picker switches to the newly loaded dataset even when another one was chosen before.
    expect(dataset_picker(page)).to_have_value(IMAGES_DEMO)
    go_to(page, "Browse")
    expect(dataset_picker(page)).to_have_value(IMAGES_DEMO)
    expect(main(page).get_by_role("heading", name=IMAGES_DEMO)).to_be_visible()
    expect(metric(main(page), "Rows")).to_have_text("200")

    thumbs = aggrid(page).locator('img[src^="data:image/jpeg;base64,"]')
    expect(thumbs.nth(4)).to_be_visible()
    decoded = eventually(
        lambda: thumbs.evaluate_all("imgs => imgs.filter(i => i.complete && i.naturalWidth > 0).length") >= 5,
        timeout=15,
    )
    assert decoded, "fewer than 5 thumbnails decoded"
    wait_until_idle(page)
    screenshot(page, "04_images.png")


def ingest_unlabeled_from_server_path(page: Page, app: App, path: Path, name: str, rows: int) -> None:
    """Upload page -> "Path on the server", no label column, ingest, wait until it is ready."""
    open_upload_page(page, app)
    choose_source(page, "Path on the server")
    where = main(page).get_by_label("File or image folder on the server")
    where.fill(str(path))
    where.press("Enter")
    expect(metric(main(page), "Rows")).to_have_text(f"{rows:,}")
    wait_until_idle(page)
    choose_option(page, main(page).get_by_role("combobox", name="Label column", exact=True), "(none)")
    expect(metric(main(page), "Labeled")).to_have_text("0")
    expect(metric(main(page), "Unlabeled")).to_have_text(f"{rows:,}")
    dataset_name = main(page).get_by_label("Dataset name")
    dataset_name.fill(name)
    dataset_name.press("Enter")
    wait_until_idle(page)
    expect(dataset_name).to_have_value(name)
    main(page).get_by_role("button", name=f"Ingest {rows:,} rows").click()
    expect(main(page).get_by_text(f"'{name}' is ready")).to_be_visible(timeout=INGEST_TIMEOUT_MS)
    wait_until_idle(page)
    assert name in app.dataset_names()


def test_search_select_all_bulk_label_and_undo(app: App, page: Page, unlabeled_csv: Path) -> None:
    if SEARCH_NAME not in app.dataset_names():  # independent of the other journeys and their order
        ingest_unlabeled_from_server_path(page, app, unlabeled_csv, SEARCH_NAME, SEARCH_ROWS)
    ws = Workspace(app.workspace)
    dataset_id = ws.dataset(SEARCH_NAME).id
    before = ws.store.label_distribution(dataset_id)
    assert before == {}, f"the journey's dataset should start unlabeled, has {before}"
    n = csv_rows_containing(unlabeled_csv, SEARCH_KEYWORD)
    assert 5 <= n < SEARCH_ROWS, f"pick a keyword in some but not all rows ({n} of {SEARCH_ROWS})"

    page.goto(app.url)
    go_to(page, "Search")
    expect(main(page).get_by_role("heading", name="Search")).to_be_visible()
    choose_option(page, dataset_picker(page), SEARCH_NAME)
    expect(metric(sidebar(page), "Rows")).to_have_text(f"{SEARCH_ROWS:,}")
    expect(main(page).get_by_text(f"{SEARCH_ROWS:,} rows match the filters")).to_be_visible()

    query = main(page).get_by_label("Describe what you are looking for")
    query.fill(SEARCH_QUERY)
    query.press("Enter")
    caption = main(page).get_by_text("results, best first · answered by minilm-l6-v2 text embedding")
    expect(caption).to_be_visible(timeout=INGEST_TIMEOUT_MS)  # the first query loads the model
    expect(caption).to_have_text(f"{SEARCH_ROWS:,} results, best first · answered by minilm-l6-v2 text embedding")
    expect(aggrid(page).get_by_role("columnheader", name="score")).to_be_visible()
    wait_until_idle(page)
    screenshot(page, "07_search_results.png")

    main(page).get_by_text("Filters", exact=True).click()
    keyword = main(page).get_by_role("textbox", name="Keyword (case-insensitive)")
    keyword.fill(SEARCH_KEYWORD)
    keyword.press("Enter")
    wait_until_idle(page)
    expect(caption).to_have_text(f"{n:,} results, best first · answered by minilm-l6-v2 text embedding")
    select_all = main(page).get_by_role("button", name=f"Select all {n:,} results")
    expect(select_all).to_be_visible()
    expect(main(page).get_by_text("0 rows selected", exact=True)).to_be_visible()
    select_all.click()
    wait_until_idle(page)
    expect(main(page).get_by_text(f"{n:,} rows selected", exact=True)).to_be_visible()
    # The redrawn grid shows the selection ticked, and a click in it adds to / removes from that selection.
    # While the old grid is being replaced both iframes exist; the new one comes last.
    grid = page.frame_locator('iframe[title*="st_aggrid"]').last
    expect(grid.locator(".ag-row input[type=checkbox]:checked").first).to_be_visible()
    assert grid.locator(".ag-row input[type=checkbox]:checked").count() >= 5
    grid.locator(".ag-row input[type=checkbox]").first.click()
    wait_until_idle(page)
    expect(main(page).get_by_text(f"{n - 1:,} rows selected", exact=True)).to_be_visible()
    grid.locator(".ag-row input[type=checkbox]").first.click()
    wait_until_idle(page)
    expect(main(page).get_by_text(f"{n:,} rows selected", exact=True)).to_be_visible()

    bulk_class = main(page).get_by_role("combobox", name="Class", exact=True)
    choose_option(page, bulk_class, "New class...")
    new_class = main(page).get_by_label("New class name")
    new_class.fill(NEW_CLASS)
    new_class.press("Enter")
    wait_until_idle(page)
    expect(main(page).get_by_role("radio", name="label", exact=True)).to_be_checked()
    expect(main(page).get_by_role("radio", name="overwrite", exact=True)).to_be_checked()
    main(page).get_by_role("button", name=f"Classify {n:,} rows").click()
    undo = main(page).get_by_role("button", name=f"Undo: Set 'about film' as label on {n:,} of {n:,} rows")
    expect(undo).to_be_visible(timeout=60_000)
    wait_until_idle(page)
    labeled = eventually(lambda: ws.store.label_distribution(dataset_id) == {NEW_CLASS: n})
    assert labeled, f"expected {n} rows labeled '{NEW_CLASS}', got {ws.store.label_distribution(dataset_id)}"
    expect(aggrid(page).get_by_role("gridcell", name=NEW_CLASS, exact=True).first).to_be_visible()
    expect(metric(sidebar(page), "Labeled")).to_have_text(f"{n / SEARCH_ROWS:.0%}")
    undo.scroll_into_view_if_needed()  # below the fold of the 1,700 px viewport otherwise
    screenshot(page, "08_bulk_labeled.png")

    undo.click()
    # The toast shows for 4 s from the undo's first run; the button goes with the second run. The changes
    # are the rows' labels and the new class leaving the class list.
    expect(page.get_by_test_id("stToast").filter(has_text=f"Undone: {n + 1:,} changes restored")).to_be_visible()
    expect(undo).to_have_count(0)
    wait_until_idle(page)
    restored = eventually(lambda: ws.store.label_distribution(dataset_id) == before)
    assert restored, f"undo should restore {before}, got {ws.store.label_distribution(dataset_id)}"
    expect(aggrid(page).get_by_role("gridcell", name=NEW_CLASS, exact=True)).to_have_count(0)
    expect(metric(sidebar(page), "Labeled")).to_have_text("0%")
    screenshot(page, "09_undone.png")


NEWS_DEMO = "Demo - AG News (1,500)"


def label_sources(app: App, name: str) -> dict[str, int]:
    ws = Workspace(app.workspace)
    states = ws.store.row_states(ws.store.row_ids(ws.dataset(name).id))
    counts: dict[str, int] = {}
    for state in states.values():
        counts[state["label_source"] or "none"] = counts.get(state["label_source"] or "none", 0) + 1
    return counts


def ensure_news_demo(app: App, page: Page) -> None:
    if NEWS_DEMO not in app.dataset_names():
        open_upload_page(page, app)
        choose_source(page, "Demo dataset")
        row = main(page).get_by_test_id("stHorizontalBlock").filter(has_text=NEWS_DEMO)
        row.get_by_role("button", name="Load").click()
        expect(main(page).get_by_text(f"'{NEWS_DEMO}' is ready")).to_be_visible(timeout=INGEST_TIMEOUT_MS)
        wait_until_idle(page)


def test_autolabel_wizard_accept_then_label_three_rows_with_keys(app: App, page: Page) -> None:
    ensure_news_demo(app, page)
    page.goto(app.url)
    go_to(page, "Auto-label")
    choose_option(page, dataset_picker(page), NEWS_DEMO)
    expect(main(page).get_by_role("heading", name="Auto-label")).to_be_visible()

    main(page).get_by_role("button", name="Train and predict").click()
    promise = main(page).get_by_text("will be auto-labeled; we expect about")
    expect(promise).to_be_visible(timeout=INGEST_TIMEOUT_MS)
    wait_until_idle(page)
    n_auto = int(promise.inner_text().split(" of ")[0].replace(",", ""))
    assert n_auto > 300, promise.inner_text()
    expect(main(page).get_by_text("Expected precision vs coverage")).to_be_visible()
    screenshot(page, "08_autolabel_promise.png")

    main(page).get_by_role("button", name=f"Accept {n_auto:,} auto-labels").click()
    wait_until_idle(page)
    assert eventually(lambda: label_sources(app, NEWS_DEMO).get("auto") == n_auto)

    main(page).get_by_text("2 · Review", exact=True).click()
    wait_until_idle(page)
    progress = main(page).get_by_text("rows in this queue decided")
    expect(progress).to_have_text("0 of 20 rows in this queue decided", timeout=30_000)
    screenshot(page, "09_autolabel_review.png")
    before = label_sources(app, NEWS_DEMO)
    labeled = metric(main(page), "Labeled")
    labeled_before = labeled.inner_text()
    for key, done in (("1", 1), ("2", 2), ("w", 3)):  # two classes chosen by number, one suggestion accepted
        page.keyboard.press(key)
        expect(progress).to_have_text(f"{done} of 20 rows in this queue decided", timeout=30_000)
        wait_until_idle(page)
    # A key reruns the review panel alone (a fragment), not the page: the page's count of labeled rows
    # above it keeps its value until the next full run, though three open rows were just labeled.
    expect(labeled).to_have_text(labeled_before)
    after = label_sources(app, NEWS_DEMO)
    assert after.get("human", 0) == before.get("human", 0) + 2
    assert after.get("suggestion_accepted", 0) == before.get("suggestion_accepted", 0) + 1
    page.keyboard.press("u")  # undo the last decision
    expect(progress).to_have_text("2 of 20 rows in this queue decided", timeout=30_000)
    assert eventually(
        lambda: label_sources(app, NEWS_DEMO).get("suggestion_accepted", 0) == before.get("suggestion_accepted", 0)
    )

    # The audit: X records "wrong" once the right class is picked (the select box kept the focus, and
    # Streamlit gives the keys typed there to the box, so X did nothing).
    main(page).get_by_text("3 · Monitor and audit", exact=True).click()
    wait_until_idle(page)
    main(page).get_by_role("button", name="Draw a sample").click()
    left = main(page).get_by_text(re.compile(r"· \d+ left in this sample"))
    expect(left).to_contain_text("· 20 left in this sample")
    right_class = main(page).get_by_role("combobox", name="Wrong: the right class is")
    auto = re.search(r"Auto label: (.+) ·", left.inner_text()).group(1)
    choose_option(page, right_class, "Sports" if auto != "Sports" else "World")
    page.keyboard.press("x")
    expect(left).to_contain_text("· 19 left in this sample")
    assert eventually(lambda: audit_verdicts(app, NEWS_DEMO) == (0, 1))  # (right, checked)
    screenshot(page, "10_audit_wrong_with_x.png")


def audit_verdicts(app: App, name: str) -> tuple[int, int]:
    from core.audit import audit_summary

    ws = Workspace(app.workspace)
    audit = audit_summary(ws, ws.dataset(name).id)
    return audit.correct, audit.checked


def label_states(app: App, name: str) -> dict[int, tuple]:
    ws = Workspace(app.workspace)
    states = ws.store.row_states(ws.store.row_ids(ws.dataset(name).id))
    return {r: (s["label"], s["label_source"], s["excluded"]) for r, s in states.items()}


def rows_matching(page: Page, *, other_than: int | None = None) -> int:
    """The table's "N rows match" count, read from the live page (not a stale copy); with
    ``other_than``, wait until it has changed from that count."""
    caption = live(main(page)).get_by_text("rows match; showing the first")
    expect(caption).to_be_visible()
    if other_than is not None:
        expect(caption).not_to_have_text(re.compile(rf"^{other_than:,} rows match"))
    return int(caption.inner_text().split(" rows match")[0].replace(",", ""))


def test_issues_find_click_a_class_bar_clean_top_10_and_undo(app: App, page: Page) -> None:
    ensure_news_demo(app, page)
    page.goto(app.url)
    go_to(page, "Issues")
    choose_option(page, dataset_picker(page), NEWS_DEMO)
    expect(main(page).get_by_role("heading", name="Issues")).to_be_visible()
    wait_until_idle(page)
    main(page).get_by_role("button", name="Find issues").click()
    expect(main(page).get_by_text("Issues by class (click a bar to filter the table)")).to_be_visible(
        timeout=INGEST_TIMEOUT_MS
    )
    wait_until_idle(page)
    total = rows_matching(page)
    assert total > 0
    screenshot(page, "10_issues_overview.png")

    # Click the longest label-issue bar: the table filters to that class.
    bars = main(page).locator(".js-plotly-plot").first.locator(".barlayer .trace").first.locator(".point path")
    expect(bars.first).to_be_visible()
    boxes = [bars.nth(i).bounding_box() for i in range(bars.count())]
    widest = max((b for b in boxes if b), key=lambda b: b["width"])
    page.mouse.click(widest["x"] + widest["width"] / 2, widest["y"] + widest["height"] / 2)
    wait_until_idle(page)
    given = main(page).get_by_role("combobox", name="Given label")
    expect(given).not_to_have_value("(any)")
    in_class = rows_matching(page, other_than=total)
    assert 0 < in_class < total
    screenshot(page, "11_issues_class_clicked.png")

    # Clean the top rows of that view (up to 10) with the default fix, auto-fix.
    k = min(10, in_class)
    before = label_states(app, NEWS_DEMO)
    main(page).get_by_role("button", name=f"Clean top {k}").click()
    wait_until_idle(page)
    undo = main(page).get_by_role("button", name=f"Undo: Auto-fixed {k} of {k} rows")
    expect(undo).to_be_visible()
    after = label_states(app, NEWS_DEMO)
    changed = [r for r in after if after[r] != before[r]]
    assert len(changed) == k and all(after[r][1] == "auto" for r in changed)
    expect(main(page).get_by_text("The data changed since this run")).to_be_visible()
    screenshot(page, "12_issues_cleaned.png")

    undo.click()
    wait_until_idle(page)
    assert eventually(lambda: label_states(app, NEWS_DEMO) == before)
    expect(main(page).get_by_role("button", name="Undo: Auto-fixed")).to_have_count(0)
    expect(main(page).get_by_text("The data changed since this run")).to_have_count(0)  # undone: data as run

    # A cell of the confusion-pairs heatmap filters to that given → suggested pair.
    cells = main(page).locator(".js-plotly-plot").nth(1).locator(".scatterlayer .point")
    box = cells.first.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    wait_until_idle(page)
    expect(main(page).get_by_role("combobox", name="Suggested label")).not_to_have_value("(any)")
    assert rows_matching(page) > 0


def test_export_csv_download_reads_back(app: App, page: Page, tmp_path: Path) -> None:
    ensure_news_demo(app, page)
    page.goto(app.url)
    go_to(page, "Export")
    choose_option(page, dataset_picker(page), NEWS_DEMO)
    expect(main(page).get_by_role("heading", name="Export")).to_be_visible()
    wait_until_idle(page)
    expect(main(page).get_by_text("1,500 rows", exact=True)).to_be_visible()
    main(page).get_by_role("button", name="Export", exact=True).click()
    wait_until_idle(page)
    expect(main(page).get_by_text("Exported 1,500 rows")).to_be_visible()
    screenshot(page, "13_export.png")
    with page.expect_download() as download:
        main(page).get_by_test_id("stDownloadButton").first.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    with saved.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1_500 and saved.suffix == ".csv"
    ws = Workspace(app.workspace)
    states = ws.store.row_states(ws.store.row_ids(ws.dataset(NEWS_DEMO).id))
    by_source = {r["source_id"]: r for r in ws.store.rows_by_ids(list(states))}
    for row in rows[:50]:
        stored = by_source[row["curator_id"]]
        assert row["label"] == (stored["label"] or "") and row["label_source"] == (stored["label_source"] or "")
    assert {r["embedding_model"] for r in rows} == {"minilm-l6-v2"}
