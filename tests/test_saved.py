"""Saved searches: a named query + threshold becomes a filter and covers rows added later."""

import pytest

from core.errors import ConflictError, InputError
from core.ingest import load_source, run_ingest, start_ingest
from core.readers import Table
from core.saved import delete_saved_search, save_search, saved_searches
from core.schema import infer_mapping
from core.search import Filters, matching_row_ids, search_text
from tests.conftest import shared


def part(table: Table, start: int, stop: int) -> Table:
    frame = table.frame.iloc[start:stop].reset_index(drop=True)
    return Table(frame, kind="table", class_names=table.class_names)


@pytest.mark.slow
def test_saved_search_filters_and_rescores_added_rows(ws, minilm):
    full = load_source(ws, shared("ag_news/test.csv"))
    run_ingest(ws, start_ingest(ws, part(full, 0, 300), infer_mapping(full), "news", source="a"), minilm)
    ds = ws.dataset("news")
    saved = save_search(ws, ds, "sports", query="sports team wins the game", text_embedder=minilm, threshold=0.25)
    assert saved.matches >= 10 and saved.query == "sports team wins the game"
    matching = matching_row_ids(ws, ds.id, Filters(saved_search=saved.id))
    assert len(matching) == saved.matches
    states = ws.store.row_states(matching)
    assert sum(s["label"] == "Sports" for s in states.values()) / len(states) > 0.7

    inside = search_text(ws, ds, "business news", text_embedder=minilm, filters=Filters(saved_search=saved.id), n=500)
    assert set(inside.row_ids) == set(matching)

    # Rows ingested later are scored when their ingest finishes: the filter covers them.
    job = start_ingest(ws, part(full, 300, 600), infer_mapping(full), "news", source="b", append=True)
    run_ingest(ws, job, minilm)
    after = saved_searches(ws, ds.id)[0]
    assert after.matches > saved.matches
    with ws.store.connect() as conn:
        assert conn.execute("SELECT COUNT(*) FROM saved_search_scores").fetchone()[0] == 600
    late = [r for r in matching_row_ids(ws, ds.id, Filters(saved_search=saved.id)) if r not in set(matching)]
    assert late and all(r > max(matching) for r in late)

    with pytest.raises(ConflictError):
        save_search(ws, ds, "sports", query="x", text_embedder=minilm, threshold=0.3)
    with pytest.raises(InputError):
        save_search(ws, ds, "empty", query="  ", text_embedder=minilm, threshold=0.3)
    examples = save_search(ws, ds, "like these", example_row_ids=matching[:3], threshold=0.5)
    assert examples.matches >= 3
    delete_saved_search(ws, examples.id)
    assert [s.name for s in saved_searches(ws, ds.id)] == ["sports"]
