"""Every page at its own address in real Chromium: Browse was the default page, which Streamlit serves at
'/' only, so '/browse' said "Page not found" (and '/upload' on an empty workspace, where Upload was)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from core.workspace import Workspace
from tests.browser import VIEWPORT, chromium, running_app, screenshot, wait_until_idle
from tests.conftest import shared
from tests.test_browser_journey import main

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def open_at(page: Page, url: str, heading: str) -> None:
    """Open ``url`` in a new session and see the page titled ``heading``, with no "Page not found" over it."""
    page.goto(url)
    wait_until_idle(page)
    expect(main(page).get_by_role("heading", name=heading)).to_be_visible()
    expect(page.get_by_text("Page not found")).to_have_count(0)


def test_browse_and_upload_open_at_their_addresses_and_the_root_goes_to_one_of_them(tmp_path: Path) -> None:
    from core.ingest import load_source, mark_paused, start_ingest
    from core.schema import infer_mapping

    ws = Workspace(tmp_path / "workspace")
    with running_app(ws.root, tmp_path / "streamlit.log") as url, chromium() as browser:
        context = browser.new_context(viewport=VIEWPORT)
        # First the root (a server's first session runs a linked page file alone: see require_shell).
        page = context.new_page()
        open_at(page, url, "Upload a dataset")  # the root of an empty workspace: Upload, at its own address
        expect(page).to_have_url(re.compile(r"/upload$"))
        open_at(context.new_page(), f"{url}/browse", "Browse")  # Browse says there is no dataset yet

        table = load_source(ws, shared("sst2/sst2_glue_dev_872.csv"))  # stored, not embedded: enough to list
        mark_paused(ws, start_ingest(ws, table, infer_mapping(table), "reviews", source="sst2.csv"))
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        open_at(page, f"{url}/browse", "reviews")
        screenshot(page, "addresses_01_browse.png")
        open_at(context.new_page(), f"{url}/upload", "Upload a dataset")
        page = context.new_page()
        open_at(page, f"{url}/?dataset={ws.dataset('reviews').id}", "reviews")  # the root: Browse, the link kept
        expect(page).to_have_url(re.compile(rf"/browse\?dataset={ws.dataset('reviews').id}$"))
