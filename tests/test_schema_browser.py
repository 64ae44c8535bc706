"""A row labeled with two questions in real Chromium: the Schema page shows the questions, and the Search
bulk panel answers the first question and a multi-choice one in one action (and Undo takes both back)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import expect

from core.history import read_label
from core.workspace import Workspace
from tests.browser import VIEWPORT, chromium, eventually, running_app, screenshot, wait_until_idle
from tests.test_browser_journey import choose_option, dataset_picker, go_to, live, main

pytestmark = [pytest.mark.browser, pytest.mark.slow]
FIXTURE = Path(__file__).parent / "fixtures" / "ag_news_multilabel.csv"
NAME = "News, two questions"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, minilm) -> Iterator[tuple[str, Workspace]]:
    """60 fixture rows, unlabeled, with two questions: topic (single) and mentions (multi-choice)."""
    from core.ingest import run_ingest, start_ingest
    from core.labelschema import Kind, add_question
    from core.readers import Table
    from core.schema import ColumnMapping

    root = tmp_path_factory.mktemp("schema-journey")
    ws = Workspace(root / "workspace")
    frame = pd.read_csv(FIXTURE, keep_default_na=False).head(60)[["id", "description"]]
    mapping = ColumnMapping(text_columns=["description"], id_column="id")
    run_ingest(ws, start_ingest(ws, Table(frame, kind="table"), mapping, NAME, source="news.csv"), minilm)
    dataset_id = ws.dataset(NAME).id
    with ws.store.transaction() as conn:
        for c in ("World", "Sports", "Business", "Sci/Tech"):
            ws.store.add_class(conn, dataset_id, "label", c)
    add_question(ws, dataset_id, "mentions", kind=Kind.MULTI, classes=["company", "country", "person", "government"])
    with running_app(ws.root, root / "streamlit.log") as url:
        yield url, ws


def test_label_a_row_with_two_questions(served) -> None:
    url, ws = served
    dataset_id = ws.dataset(NAME).id
    row_id = next(r["id"] for r in ws.store.rows_by_ids(ws.store.row_ids(dataset_id)) if "Sanford Wallace" in r["text"])
    with chromium() as browser:
        page = browser.new_context(viewport=VIEWPORT).new_page()
        page.goto(url)
        wait_until_idle(page)
        choose_option(page, dataset_picker(page), NAME)
        go_to(page, "Schema")
        wait_until_idle(page)
        expect(main(page).get_by_text("Version 2", exact=False)).to_be_visible()
        expect(main(page).get_by_test_id("glide-cell-1-1")).to_have_text("multi-choice")  # mentions, in the table
        screenshot(page, "schema_01_page.png")

        go_to(page, "Search")
        wait_until_idle(page)
        main(page).get_by_text("Filters", exact=True).click()
        keyword = main(page).get_by_role("textbox", name="Keyword (case-insensitive)")
        keyword.fill("Sanford Wallace")
        keyword.press("Enter")
        wait_until_idle(page)
        main(page).get_by_role("button", name="Select all 1 matching").click()
        wait_until_idle(page)
        expect(main(page).get_by_text("1 row selected", exact=True)).to_be_visible()
        choose_option(page, main(page).get_by_role("combobox", name="Class", exact=True), "Sci/Tech")
        mentions = main(page).get_by_role("combobox", name="mentions", exact=False)
        for option in ("company", "person"):
            mentions.click()  # at the page's foot the list may open out of view: pick by typing
            page.keyboard.type(option)
            page.keyboard.press("Enter")
            chosen = (
                live(main(page))
                .get_by_test_id("stMultiSelect")
                .filter(has=page.get_by_role("combobox", name="mentions"))
            )
            expect(chosen).to_contain_text(option)  # the answer is in before the next one is typed
            wait_until_idle(page)
        page.keyboard.press("Escape")
        screenshot(page, "schema_02_two_questions.png")
        main(page).get_by_role("button", name="Classify 1 row").click()
        undo = main(page).get_by_role("button", name="Undo: Answered label, mentions as label on")
        expect(undo).to_be_visible(timeout=60_000)
        screenshot(page, "schema_03_done.png")

        with ws.store.connect() as conn:
            topic, mentioned = read_label(conn, row_id, "label"), read_label(conn, row_id, "mentions")
        assert (topic["value"], topic["source"]) == ("Sci/Tech", "bulk")
        assert mentioned["value"] == ["company", "person"]

        undo.click()  # one action: both answers go
        expect(undo).to_have_count(0)  # the rerun after the undo has drawn the page

        def both_gone() -> bool:
            with ws.store.connect() as conn:
                return read_label(conn, row_id, "label") is None and read_label(conn, row_id, "mentions") is None

        assert eventually(both_gone)
        assert not main(page).get_by_test_id("stException").count()
