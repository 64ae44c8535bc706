"""Two browser sessions labeling the same dataset at once (real Chromium, one server): overlapping and
separate rows, clicks interleaved. No update is lost: every change is in the history, rows take the
label of the last action that touched them, and each session sees the other's labels after a refresh."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from core.workspace import Workspace
from tests.browser import VIEWPORT, chromium, running_app, wait_until_idle
from tests.conftest import shared
from tests.test_browser_journey import choose_option, dataset_picker, go_to, main

pytestmark = [pytest.mark.browser, pytest.mark.slow]
NAME = "Shared reviews"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, minilm) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("two-sessions")
    ingest_reviews(Workspace(root / "workspace"), minilm)
    with running_app(root / "workspace", root / "streamlit.log") as url:
        yield url, root / "workspace"


def ingest_reviews(ws: Workspace, minilm) -> None:  # noqa: ANN001
    """The first 120 SST-2 dev sentences, unlabeled, as the dataset NAME."""
    from core.ingest import run_ingest, start_ingest
    from core.readers import Table
    from core.schema import infer_mapping

    frame = pd.read_csv(shared("sst2/sst2_glue_dev_872.csv"), keep_default_na=False).head(120)[["sentence"]]
    table = Table(frame, kind="table")
    run_ingest(ws, start_ingest(ws, table, infer_mapping(table), NAME, source="reviews.csv"), minilm)


def keyword_rows(keyword: str) -> set[str]:
    frame = pd.read_csv(shared("sst2/sst2_glue_dev_872.csv"), keep_default_na=False).head(120)
    return {str(i + 1) for i, s in enumerate(frame["sentence"]) if keyword in s.lower()}


def select_matching(page: Page, url: str, keyword: str, n: int) -> int:
    """Search page, keyword filter, "Select all N matching" (N expected); returns N."""
    page.goto(url)
    wait_until_idle(page)
    choose_option(page, dataset_picker(page), NAME)
    go_to(page, "Search")
    wait_until_idle(page)
    main(page).get_by_text("Filters", exact=True).click()
    box = main(page).get_by_role("textbox", name="Keyword (case-insensitive)")
    box.fill(keyword)
    box.press("Enter")
    wait_until_idle(page)
    select_all = main(page).get_by_role("button", name=f"Select all {n:,} matching")
    expect(select_all).to_be_visible()
    select_all.click()
    wait_until_idle(page)
    expect(main(page).get_by_text(f"{n:,} rows selected", exact=True)).to_be_visible()
    choose_option(page, main(page).get_by_role("combobox", name="Class", exact=True), "New class...")
    return n


def classify(page: Page, n: int, value: str) -> None:
    name = main(page).get_by_label("New class name")
    name.fill(value)
    name.press("Enter")
    wait_until_idle(page)
    main(page).get_by_role("button", name=f"Classify {n:,} rows").click()
    expect(main(page).get_by_role("button", name=f"Undo: Set '{value}' as label on")).to_be_visible(timeout=60_000)


def label_at_once(url_a: str, url_b: str, ws: Workspace) -> tuple[set[str], set[str]]:
    """Session A (on ``url_a``) labels the "film" rows, session B (on ``url_b``) the "story" rows, both
    selections open before either acts; checks the store and that each session sees the other's labels
    after a refresh. Returns the two selections (source ids)."""
    film, funny = keyword_rows("film"), keyword_rows("story")
    assert film - funny and funny - film and film & funny, "the two selections should overlap in part"
    with chromium() as browser:
        a = browser.new_context(viewport=VIEWPORT).new_page()
        b = browser.new_context(viewport=VIEWPORT).new_page()
        # Both sessions have their selections open before either acts (interleaved).
        n_a = select_matching(a, url_a, "film", len(film))
        n_b = select_matching(b, url_b, "story", len(funny))
        assert (n_a, n_b) == (len(film), len(funny))
        classify(a, n_a, "about film")
        classify(b, n_b, "funny one")  # B acts last: the overlap ends up "funny one"

        dataset_id = ws.dataset(NAME).id
        by_source = {r["source_id"]: r["label"] for r in ws.store.rows_by_ids(ws.store.row_ids(dataset_id))}
        assert {s for s, v in by_source.items() if v == "about film"} == film - funny
        assert {s for s, v in by_source.items() if v == "funny one"} == funny
        with ws.store.connect() as conn:
            events = dict(
                conn.execute("SELECT description, n_events FROM batches WHERE action = 'bulk_label'").fetchall()
            )
        # Both actions, every change: each row's label, and the new class joining the class list.
        assert sorted(events.values()) == sorted([len(film) + 1, len(funny) + 1])

        # Each session sees the other's labels after a refresh (Browse, label filter).
        for page, other, count in ((a, "funny one", len(funny)), (b, "about film", len(film - funny))):
            page.reload()
            wait_until_idle(page)
            go_to(page, "Browse")
            wait_until_idle(page)
            choose_option(page, main(page).get_by_role("combobox", name="Label", exact=True), other)
            expect(main(page).get_by_text(f"{count:,} matching rows")).to_be_visible()
    return film, funny


def test_two_sessions_label_overlapping_rows_without_losing_updates(served) -> None:
    url, workspace = served
    label_at_once(url, url, Workspace(workspace))


def test_two_app_processes_share_one_chroma_server(tmp_path: Path, minilm) -> None:
    """Two `streamlit run` processes on one workspace folder (SQLite) and one `chroma run` server, as
    two replicas of a deployment: the same interleaved labeling, and a label-filtered search through the
    server finds exactly the rows the store holds with that label."""
    from core.config import ChromaSettings
    from core.search import Filters, search_text
    from tests.chroma_server import HOST, chroma_server

    with chroma_server(tmp_path) as port:
        ws = Workspace(tmp_path / "workspace", chroma=ChromaSettings(host=HOST, port=port))
        ingest_reviews(ws, minilm)
        env = {"CURATOR_CHROMA_HOST": HOST, "CURATOR_CHROMA_PORT": str(port)}
        with (
            running_app(ws.root, tmp_path / "app-1.log", env=env) as url_1,
            running_app(ws.root, tmp_path / "app-2.log", env=env) as url_2,
        ):
            film, funny = label_at_once(url_1, url_2, ws)
        dataset = ws.dataset(NAME)
        source_of = {r["id"]: r["source_id"] for r in ws.store.rows_by_ids(ws.store.row_ids(dataset.id))}
        for label, expected in (("about film", film - funny), ("funny one", funny)):
            found = search_text(ws, dataset, "a film", text_embedder=minilm, filters=Filters(labels=[label]), n=500)
            assert {source_of[r] for r in found.row_ids} == expected, label
        assert not (ws.root / "chroma").exists(), "the apps wrote vectors locally instead of to the server"
