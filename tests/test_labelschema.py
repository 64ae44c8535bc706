"""Label schemas: questions, versions, migrations with undo, multi-label and hierarchical classes."""

from __future__ import annotations

import pytest

from core.errors import ConflictError, InputError, NotFoundError
from core.labelschema import (
    Kind,
    add_question,
    at_depth,
    label_schema,
    looks_multi,
    merge_classes,
    parent_of,
    parse_multi,
    rename_class,
    roll_up,
    roll_up_accuracy,
    schema_versions,
    split_class,
    update_question,
)
from core.review import NEEDS_REVIEW


def labels(ws, row_ids, field="label"):
    from core.history import read_label

    with ws.store.connect() as conn:
        out = [read_label(conn, r, field) for r in row_ids]
    return [s["value"] if s else None for s in out]


def test_the_upload_makes_the_first_question(ws, dataset) -> None:
    dataset_id, _ = dataset
    schema = label_schema(ws.store, dataset_id)
    assert schema.version == 1
    assert schema.names == ["label"]
    q = schema.question("label")
    assert (q.kind, q.classes, q.required, q.parent) == (Kind.SINGLE, ("a", "b"), True, None)
    assert [v.description for v in schema_versions(ws.store, dataset_id)] == ["Created from the upload"]


def test_add_questions_with_a_sub_question_and_undo(ws, dataset) -> None:
    dataset_id, ids = dataset
    add_question(ws, dataset_id, "topics", kind="multi", classes=["sport", "money", "sport"])
    m = add_question(ws, dataset_id, "sport kind", classes=["ball", "water"], parent=("topics", "sport"))
    schema = label_schema(ws.store, dataset_id)
    assert schema.names == ["label", "topics", "sport kind"]
    assert schema.version == m.version == 3
    assert schema.question("topics").classes == ("sport", "money")
    sub = schema.question("sport kind")
    assert sub.applies({"topics": ["money", "sport"]}) and not sub.applies({"topics": ["money"]})
    assert not sub.applies({})

    with pytest.raises(ConflictError):
        add_question(ws, dataset_id, "topics")
    with pytest.raises(InputError, match="not a class"):
        add_question(ws, dataset_id, "x", parent=("topics", "weather"))
    with pytest.raises(InputError):
        add_question(ws, dataset_id, "  ")
    assert label_schema(ws.store, dataset_id).version == 3  # refused changes leave no version

    # Answers to two questions at once; a multi-choice value is a sorted list.
    with ws.batch(dataset_id, action="bulk_label", description="t") as b:
        b.set_label(ids[:2], ["sport", "money"], field="topics")
        b.set_label(ids[:1], "ball", field="sport kind")
    assert labels(ws, ids[:3], "topics") == [["money", "sport"], ["money", "sport"], None]
    assert labels(ws, ids[:2], "label") == ["a", None]  # the other question is untouched

    ws.undo(m.batch_id)  # the sub-question goes; its answers stay in the history
    assert label_schema(ws.store, dataset_id).names == ["label", "topics"]
    assert label_schema(ws.store, dataset_id).version == 4
    versions = schema_versions(ws.store, dataset_id)
    assert [v.version for v in versions] == [1, 2, 3, 4]
    assert versions[2].undone and versions[3].description.startswith("Undo: Add question 'sport kind'")


def test_rename_merge_split_migrate_labels_in_one_undoable_batch(ws, dataset) -> None:
    dataset_id, ids = dataset
    with ws.batch(dataset_id, action="suggest", description="t") as b:
        b.set_suggestion(ids[1:2], "b", confidence=0.7, model_id="m")
    before = labels(ws, ids)
    assert before == ["a", None, "b", None, None, "a", None, None]

    r = rename_class(ws, dataset_id, "label", "a", "alpha")
    assert r.rows_changed == 2 and r.version == 2
    assert labels(ws, ids) == ["alpha", None, "b", None, None, "alpha", None, None]
    assert label_schema(ws.store, dataset_id).question("label").classes == ("alpha", "b")
    from core.history import read_label

    with ws.store.connect() as conn:
        kept = read_label(conn, ids[0], "label")
    assert kept["source"] == "original"  # provenance kept, only the name changed

    m = merge_classes(ws, dataset_id, "label", ["alpha", "b"], "ab")
    assert m.rows_changed == 3
    assert labels(ws, ids) == ["ab", None, "ab", None, None, "ab", None, None]
    assert ws.store.rows_by_ids(ids[1:2])[0]["suggested"] == "ab"  # suggestions follow too
    assert label_schema(ws.store, dataset_id).question("label").classes == ("ab",)

    s = split_class(ws, dataset_id, "label", "ab", ["first", "second"], rows_go_to="second")
    assert s.rows_changed == 3
    assert labels(ws, ids) == ["second", None, "second", None, None, "second", None, None]
    assert label_schema(ws.store, dataset_id).question("label").classes == ("first", "second")
    tagged = {r["id"] for r in ws.store.rows_by_ids(ids) if NEEDS_REVIEW in (r["tags"] or "")}
    assert tagged == {ids[0], ids[2], ids[5]}

    for migration in (s, m, r):  # undo in reverse order restores labels, tags and classes exactly
        ws.undo(migration.batch_id)
    assert labels(ws, ids) == before
    assert label_schema(ws.store, dataset_id).question("label").classes == ("a", "b")
    assert not any(NEEDS_REVIEW in (r["tags"] or "") for r in ws.store.rows_by_ids(ids))
    assert label_schema(ws.store, dataset_id).version == 7


def test_bad_schema_changes_are_refused_and_change_nothing(ws, dataset) -> None:
    dataset_id, ids = dataset
    for bad, error in (
        (lambda: rename_class(ws, dataset_id, "label", "zzz", "y"), NotFoundError),
        (lambda: rename_class(ws, dataset_id, "label", "a", "b"), ConflictError),
        (lambda: rename_class(ws, dataset_id, "label", "a", " "), InputError),
        (lambda: merge_classes(ws, dataset_id, "label", ["a"], "a"), InputError),
        (lambda: split_class(ws, dataset_id, "label", "a", ["only one"]), InputError),
        (lambda: split_class(ws, dataset_id, "label", "a", ["b", "c"]), ConflictError),
        (lambda: split_class(ws, dataset_id, "label", "a", ["c", "d"], rows_go_to="e"), InputError),
        (lambda: label_schema(ws.store, dataset_id).question("nope"), NotFoundError),
    ):
        with pytest.raises(error):
            bad()
    assert labels(ws, ids) == ["a", None, "b", None, None, "a", None, None]
    assert label_schema(ws.store, dataset_id).version == 1
    assert update_question(ws, dataset_id, "label") is None  # nothing to change: no version
    assert update_question(ws, dataset_id, "label", add_classes=["c"]).version == 2


def test_hierarchical_rename_moves_descendants_and_sub_questions(ws, dataset) -> None:
    dataset_id, ids = dataset
    add_question(ws, dataset_id, "product", classes=["Shoes > Running > Red", "Shoes > Trail", "Hats"])
    add_question(ws, dataset_id, "shoe size", classes=["S", "L"], parent=("product", "Shoes > Trail"))
    with ws.batch(dataset_id, action="bulk_label", description="t") as b:
        b.set_label(ids[:2], "Shoes > Running > Red", field="product")
        b.set_label(ids[2:3], "Shoes > Trail", field="product")
        b.set_label(ids[3:4], "Hats", field="product")
    r = rename_class(ws, dataset_id, "product", "Shoes > Trail", "Shoes > Hiking")
    assert r.rows_changed == 1
    assert label_schema(ws.store, dataset_id).question("shoe size").parent == ("product", "Shoes > Hiking")
    rename_class(ws, dataset_id, "product", "Shoes", "Footwear")  # a parent that is not itself a class
    schema = label_schema(ws.store, dataset_id)
    assert schema.question("product").classes == ("Footwear > Running > Red", "Footwear > Hiking", "Hats")
    assert schema.question("product").hierarchical
    assert labels(ws, ids[:4], "product") == ["Footwear > Running > Red"] * 2 + ["Footwear > Hiking", "Hats"]


def test_rename_inside_multi_label_lists(ws, dataset) -> None:
    dataset_id, ids = dataset
    add_question(ws, dataset_id, "tags", kind=Kind.MULTI, classes=["x", "y", "z"])
    with ws.batch(dataset_id, action="bulk_label", description="t") as b:
        b.set_label(ids[:1], ["x", "y"], field="tags")
        b.set_label(ids[1:2], ["y"], field="tags")
    merge_classes(ws, dataset_id, "tags", ["x"], "y")
    assert labels(ws, ids[:2], "tags") == [["y"], ["y"]]  # a merged list keeps one of each


def test_values_and_roll_up() -> None:
    assert parse_multi('["b", "a"]') == ["b", "a"]
    assert parse_multi("company| person |") == ["company", "person"]
    assert parse_multi("") == [] and parse_multi(None) == []
    assert looks_multi(["a|b", "c", "d", "e"] * 5)
    assert looks_multi(['["a"]', '["a", "b"]'])
    assert not looks_multi(["Rock | Pop"] + ["x"] * 40)  # one odd class name is not a multi-label column
    assert parent_of("Shoes > Running > Red") == "Shoes > Running" and parent_of("Hats") is None
    assert at_depth("Shoes > Running > Red", 1) == "Shoes" and at_depth("Hats", 2) == "Hats"
    assert roll_up(["A > x", "A > y", "B > z", None]) == {"A": 2, "B": 1}
    acc = roll_up_accuracy(["A > x", "A > y", "B > z"], ["A > y", "A > y", "A > z"])
    assert acc["A"] == {"rows": 2, "exact": 0.5, "rolled_up": 1.0}
    assert acc["B"] == {"rows": 1, "exact": 0.0, "rolled_up": 0.0}
