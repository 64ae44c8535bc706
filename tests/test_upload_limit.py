"""A file over the configured upload limit is refused in the browser with a message naming the limit,
and nothing is stored (tested with a 1 MB limit, not a huge file)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.workspace import Workspace
from tests.browser import VIEWPORT, chromium, running_app, screenshot, wait_until_idle
from tests.test_browser_journey import choose_source, go_to, main

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_file_over_the_upload_limit_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    line = "a review long enough to take some room in the file,positive\n"
    big.write_text("text,label\n" + line * (2 * 1024 * 1024 // len(line) + 1), encoding="utf-8")  # ~2 MB
    workspace = tmp_path / "workspace"
    with (
        running_app(workspace, tmp_path / "streamlit.log", options=("--server.maxUploadSize=1",)) as url,
        chromium() as browser,
    ):
        page = browser.new_context(viewport=VIEWPORT).new_page()
        page.goto(url)
        wait_until_idle(page)
        go_to(page, "Upload")
        choose_source(page, "Upload a file")
        page.set_input_files("input[type=file]", str(big))
        expect(main(page).get_by_text("1.0MB or smaller", exact=False)).to_be_visible(timeout=30_000)
        wait_until_idle(page)
        screenshot(page, "upload_over_limit.png")
        expect(main(page).get_by_role("button", name="Ingest")).to_have_count(0)
    assert Workspace(workspace).datasets() == []
