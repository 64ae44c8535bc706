"""Bulk actions: classify as label or suggestion, overwrite vs skip, tag, exclude; undo is exact."""

import pytest

from core.actions import bulk_answer, bulk_classify, bulk_exclude, bulk_tag
from core.errors import ConflictError, InputError
from core.history import history
from core.search import Filters, matching_row_ids, rows_page


def state(ws, dataset_id):
    rows, _ = ws.store.rows_page(dataset_id, limit=100)
    return [(r["label"], r["label_source"], r["suggested"], r["tags"], r["excluded"]) for r in rows]


def test_classify_skip_then_overwrite_then_undo_exactly(ws, dataset):
    dataset_id, ids = dataset
    before = state(ws, dataset_id)
    seen = []
    skip = bulk_classify(ws, dataset_id, ids, "c", overwrite=False, on_progress=lambda d, t: seen.append((d, t)))
    assert (skip.changed, skip.selected) == (5, 8) and seen[-1] == (8, 8)
    assert ws.store.label_distribution(dataset_id) == {"c": 5, "a": 2, "b": 1}
    over = bulk_classify(ws, dataset_id, ids, "d", overwrite=True)
    assert over.changed == 8 and ws.store.classes(dataset_id) == ["a", "b", "c", "d"]
    assert {s[1] for s in state(ws, dataset_id)} == {"bulk"}
    ws.undo(over.batch_id)
    ws.undo(skip.batch_id)
    assert state(ws, dataset_id) == before


def test_undoing_a_bulk_classify_takes_the_class_it_brought_in_out_of_the_class_list(ws, dataset):
    """A class typed in Search's bulk panel ("Helth", a typo) stayed in every class picker after Undo: the
    class list was changed outside the batch. A class a row still carries stays."""
    dataset_id, ids = dataset
    typo = bulk_classify(ws, dataset_id, ids[:2], "Helth")
    kept = bulk_classify(ws, dataset_id, ids[2:3], "Sport", as_suggestion=True)
    assert ws.store.classes(dataset_id) == ["a", "b", "Helth", "Sport"]
    ws.undo(typo.batch_id)
    assert ws.store.classes(dataset_id) == ["a", "b", "Sport"]
    assert state(ws, dataset_id)[:2] == [("a", "original", None, None, 0), (None, None, None, None, 0)]
    bulk_classify(ws, dataset_id, ids[3:4], "Sport")  # a row carries it now: undoing the first one keeps it
    ws.undo(kept.batch_id)
    assert ws.store.classes(dataset_id) == ["a", "b", "Sport"]


def test_a_new_class_differing_only_in_case_is_refused_and_changes_nothing(ws, dataset):
    """'A' typed as a new class beside 'a' would split one class in two: refused, as on the Schema page."""
    dataset_id, ids = dataset
    before = state(ws, dataset_id)
    with pytest.raises(ConflictError, match="'a' is already a class"):
        bulk_classify(ws, dataset_id, ids[:3], " A ")
    with pytest.raises(ConflictError, match="'b' is already a class"):  # the bulk panel with other questions
        bulk_answer(ws, dataset_id, ids[:3], {"label": "B"})
    assert state(ws, dataset_id) == before and ws.store.classes(dataset_id) == ["a", "b"]


def test_suggestions_tags_and_exclusion(ws, dataset):
    dataset_id, ids = dataset
    sugg = bulk_classify(ws, dataset_id, ids[:4], "b", as_suggestion=True)
    assert sugg.changed == 4
    assert [s[2] for s in state(ws, dataset_id)][:5] == ["b", "b", "b", "b", None]
    assert ws.store.label_distribution(dataset_id) == {"a": 2, "b": 1}  # labels untouched
    assert matching_row_ids(ws, dataset_id, Filters(suggested=["b"])) == ids[:4]
    assert bulk_tag(ws, dataset_id, ids[:3], "needs-review").changed == 3
    assert bulk_exclude(ws, dataset_id, ids[5:], excluded=True).changed == 3
    assert matching_row_ids(ws, dataset_id, Filters(tags=["needs-review"])) == ids[:3]
    assert matching_row_ids(ws, dataset_id, Filters()) == ids[:5]  # excluded hidden by default
    assert matching_row_ids(ws, dataset_id, Filters(labeled=False, excluded=None)) == [ids[i] for i in (1, 3, 4, 6, 7)]
    again = bulk_tag(ws, dataset_id, ids[:3], "needs-review")
    assert again.changed == 0 and again.batch_id is None  # no-op: no history entry
    assert [b.action for b in history(ws.store, dataset_id)] == ["bulk_exclude", "bulk_tag", "bulk_suggestion"]


def test_bad_bulk_input(ws, dataset):
    dataset_id, ids = dataset
    with pytest.raises(InputError, match="Choose a class"):
        bulk_classify(ws, dataset_id, ids, "  ")
    with pytest.raises(InputError, match="Select some rows"):
        bulk_classify(ws, dataset_id, [], "a")
    assert history(ws.store, dataset_id) == []


def test_confidence_range_filter_reads_label_or_suggestion_confidence(ws, dataset):
    dataset_id, ids = dataset
    with ws.batch(dataset_id, action="model", description="predictions") as b:
        b.set_predictions({ids[1]: ("a", 0.95), ids[3]: ("b", 0.6)}, model_id="m", as_suggestion=False)
        b.set_predictions({ids[4]: ("a", 0.7), ids[6]: ("b", 0.3)}, model_id="m", as_suggestion=True)
    assert matching_row_ids(ws, dataset_id, Filters(confidence=(0.5, 0.9))) == [ids[3], ids[4]]
    assert matching_row_ids(ws, dataset_id, Filters(confidence=(0.9, 1.0))) == [ids[1]]


def test_a_keyword_matches_whatever_the_case_of_letters_beyond_ascii(ws):
    """SQLite's LIKE folds ASCII only: "PÃO" missed "pão" and "STRASSE" missed "Straße". Search's
    keyword filter and Browse's "Text contains" share the rule; %, _ and \\ stay literal."""
    import pandas as pd

    from core.readers import Table
    from core.schema import ColumnMapping, build_rows

    texts = ["Pão de queijo", "PÃO QUENTE", "Die Straße", "ÉCOLE normale", "école", "50% off_now \\o/", "bread"]
    rows = build_rows(Table(pd.DataFrame({"text": texts}), kind="table"), ColumnMapping(text_columns=["text"]))
    with ws.store.transaction() as conn:
        dataset_id = ws.store.create_dataset(conn, "k", modality="text", embedding_model="minilm-l6-v2")
        ws.store.insert_rows(conn, dataset_id, 1, rows)
    ids = ws.store.row_ids(dataset_id)

    def found(keyword: str) -> list[int]:
        by_search = matching_row_ids(ws, dataset_id, Filters(keyword=keyword))
        page, _ = rows_page(ws, dataset_id, Filters(keyword=keyword, excluded=None), limit=50)
        assert [r["id"] for r in page] == by_search  # Browse and Search agree
        return [ids.index(r) for r in by_search]

    assert found("pão") == found("PÃO") == [0, 1]
    assert found("straße") == [2] and found("STRAßE") == [2]
    assert found("strasse") == []  # an ASCII keyword keeps SQLite's own (fast) LIKE, which has no ß = ss
    assert found("école") == [3, 4]
    assert found("BREAD") == [6]  # ASCII: SQLite's own LIKE, as before
    assert found("0% off_") == [5] and found("\\o/") == [5] and found("%") == [5] and found("_") == [5]
