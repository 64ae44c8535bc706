"""Text from data is shown as text: script and event-handler payloads stay inert in the tables
(AgGrid), the review panel and the issue explanations, in a real Chromium (no dialog ever opens)."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from core.workspace import Workspace
from tests.browser import VIEWPORT, chromium, running_app, screenshot, wait_until_idle
from tests.conftest import shared
from tests.test_browser_journey import choose_option, dataset_picker, go_to, main

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCRIPT = "<script>alert(1)</script>"
# An event-handler payload the text repair keeps (it drops feed markup such as <img>, <a>, <br>: core/textclean.py).
IMG = "<svg onload=alert(2)>"
NAME = "Hostile rows"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, minilm) -> Iterator[str]:
    from core.ingest import run_ingest, start_ingest
    from core.issues import find_issues
    from core.readers import Table
    from core.schema import infer_mapping

    root = tmp_path_factory.mktemp("security")
    ws = Workspace(root / "workspace")
    frame = pd.read_csv(shared("sst2/sst2_glue_dev_872.csv"), keep_default_na=False).head(60)
    hostile = pd.DataFrame(
        {"sentence": [SCRIPT, SCRIPT, IMG], "label": ["1", "0", "1"], "label_name": ["positive", "negative", IMG]}
    )
    frame = pd.concat([hostile, frame], ignore_index=True)
    table = Table(frame, kind="table")
    run_ingest(ws, start_ingest(ws, table, infer_mapping(table), NAME, source="hostile.csv"), minilm)
    find_issues(ws, ws.dataset(NAME).id)  # the two script rows: exact (and conflicting) duplicates
    with running_app(root / "workspace", root / "streamlit.log") as url:
        yield url


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium() as browser:
        yield browser.new_context(viewport=VIEWPORT).new_page()


def test_hostile_text_stays_text_in_tables_review_and_explanations(app_url: str, page: Page) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(app_url)
    wait_until_idle(page)
    choose_option(page, dataset_picker(page), NAME)
    grid = page.frame_locator('iframe[title*="st_aggrid"]').last
    expect(grid.get_by_role("gridcell", name=SCRIPT).first).to_be_visible()
    expect(grid.get_by_role("gridcell", name=IMG).first).to_be_visible()
    screenshot(page, "security_browse.png")

    go_to(page, "Issues")
    wait_until_idle(page)
    choose_option(page, main(page).get_by_role("combobox", name="Issue type"), "Conflicting duplicates")
    grid = page.frame_locator('iframe[title*="st_aggrid"]').last
    expect(grid.get_by_role("gridcell", name=SCRIPT).first).to_be_visible()
    main(page).get_by_text("Review one by one").click()
    wait_until_idle(page)
    expect(main(page).get_by_text(SCRIPT, exact=True).first).to_be_visible()  # the row itself, as text
    expect(main(page).get_by_text("Identical content carries different labels")).to_be_visible()
    expect(main(page).get_by_text("The same content appears 2 times in the dataset")).to_be_visible()
    screenshot(page, "security_review.png")

    assert dialogs == []
    assert page.locator("svg[onload]").count() == 0 and page.locator("main script").count() == 0
    for frame in page.frames:
        assert frame.locator("svg[onload]").count() == 0
