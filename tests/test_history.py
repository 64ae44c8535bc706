"""Append-only history with batch ids; undo restores exactly; a failed batch leaves no trace."""

import pytest

from core.errors import ConflictError, InputError, NotFoundError
from core.history import batch_events, describe_change, describe_state, history, open_batch, undo
from core.readers import Table
from core.schema import ColumnMapping, build_rows
from core.store import LabelSource, Store


@pytest.fixture
def store_with_rows(tmp_path):
    import pandas as pd

    store = Store(tmp_path / "s.sqlite")
    frame = pd.DataFrame({"text": [f"row number {i}" for i in range(6)], "label": ["a", "b", "", "-", "a", ""]})
    rows = build_rows(Table(frame, kind="table"), ColumnMapping(text_columns=["text"], label_column="label"))
    with store.transaction() as conn:
        dataset_id = store.create_dataset(conn, "d", modality="text", embedding_model="m")
        store.insert_rows(conn, dataset_id, 1, rows)
    return store, dataset_id, store.row_ids(dataset_id)


def snapshot(store, dataset_id):
    page, _ = store.rows_page(dataset_id, limit=100)
    return [(r["id"], r["label"], r["label_source"], r["confidence"], r["tags"], r["excluded"]) for r in page]


def test_given_labels_and_unlabeled(store_with_rows):
    store, dataset_id, _ = store_with_rows
    counts = store.counts(dataset_id)
    assert counts["labeled"] == 3 and counts["unlabeled"] == 3
    assert store.label_distribution(dataset_id) == {"a": 2, "b": 1}


def test_bulk_label_overwrite_vs_skip_and_exact_undo(store_with_rows):
    store, dataset_id, ids = store_with_rows
    before = snapshot(store, dataset_id)
    with open_batch(store, dataset_id, action="bulk_label", description="label c, skip labeled") as b:
        changed = b.set_label(ids, "c", source=LabelSource.BULK, overwrite=False)
    assert changed == 3  # only the three unlabeled rows
    with open_batch(store, dataset_id, action="bulk_label", description="label d everywhere") as b:
        assert b.set_label(ids, "d", source=LabelSource.AUTO, confidence=0.9, model_id="m1") == 6
        b.set_tag(ids[:2], "needs-review")
        b.set_excluded(ids[-1:], True)
    assert store.label_distribution(dataset_id) == {"d": 6}
    batches = history(store, dataset_id)
    assert [b.action for b in batches] == ["bulk_label", "bulk_label"]
    assert batches[0].n_events == 6 + 2 + 1
    undo(store, batches[0].id)
    assert store.label_distribution(dataset_id) == {"c": 3, "a": 2, "b": 1}
    undo(store, batches[1].id)
    assert snapshot(store, dataset_id) == before
    assert len(history(store, dataset_id)) == 4  # two actions, two undos: the history only grows


def test_undoing_an_undo_is_a_redo_in_words_and_actions_read_as_words(store_with_rows):
    from core.history import describe_action

    store, dataset_id, ids = store_with_rows
    with open_batch(store, dataset_id, action="bulk_exclude", description="Exclude 6 rows") as b:
        b.set_excluded(ids, True)
    first = history(store, dataset_id)[0].id
    undone = undo(store, first)
    assert not undone.redo and undone.headline() == "Undone: 6 changes restored"
    redone = undo(store, undone.batch_id)
    assert redone.redo and redone.headline() == "Redone: 6 changes restored"
    assert all(row[5] for row in snapshot(store, dataset_id))  # the exclusion is back
    again = undo(store, redone.batch_id)
    assert not again.redo
    assert [(b.action, b.description) for b in history(store, dataset_id)] == [
        ("undo", "Undo: Exclude 6 rows"),  # however deep the chain, the original action is named once
        ("redo", "Redo: Exclude 6 rows"),
        ("undo", "Undo: Exclude 6 rows"),
        ("bulk_exclude", "Exclude 6 rows"),
    ]
    assert [describe_action(a) for a in ["bulk_exclude", "bulk_tag", "issues_needs_review", "redo"]] == [
        "Exclude or include rows",
        "Tag rows",
        "Issues: needs review",
        "Redo",
    ]
    assert describe_action("some_new_action") == "Some new action"  # never an internal name with underscores


def test_unchanged_since_holds_only_when_the_changes_since_cancel_out(store_with_rows):
    from core.history import unchanged_since
    from core.store import now

    store, dataset_id, ids = store_with_rows
    version, stamp = store.dataset(dataset_id).version, now()
    assert unchanged_since(store, dataset_id, version=version, stamp=stamp)
    with open_batch(store, dataset_id, action="bulk_tag", description="tag") as b:
        b.set_tag(ids[:3], "x")
    assert not unchanged_since(store, dataset_id, version=version, stamp=stamp)
    undone = undo(store, history(store, dataset_id)[0].id)
    assert unchanged_since(store, dataset_id, version=version, stamp=stamp)
    assert undone.batch_id and not unchanged_since(store, dataset_id, version=version - 1, stamp=stamp)  # a bump
    # that no batch since explains (rows ingested or embedded) counts as a change
    with open_batch(store, dataset_id, action="bulk_tag", description="tag y") as b:
        b.set_tag(ids[:1], "y")
    assert not unchanged_since(store, dataset_id, version=version, stamp=stamp)  # a standing action


def test_undo_keeps_rows_changed_later(store_with_rows):
    store, dataset_id, ids = store_with_rows
    with open_batch(store, dataset_id, action="bulk_label", description="first") as b:
        b.set_label(ids[:2], "x")
    first = history(store, dataset_id)[0].id
    with open_batch(store, dataset_id, action="label", description="second") as b:
        b.set_label(ids[:1], "y")
    result = undo(store, first)
    assert result.restored == 1 and result.skipped_changed_later == 1
    assert result.describe() == (  # and what changed it, to undo first
        "1 change restored; 1 change kept: its row was changed since by 'second' (undo it first to undo all of this)"
    )
    page, _ = store.rows_page(dataset_id, limit=2)
    assert [r["label"] for r in page] == ["y", "b"]
    with pytest.raises(ConflictError, match="already undone"):
        undo(store, first)


def test_failed_batch_changes_nothing(store_with_rows):
    store, dataset_id, ids = store_with_rows
    before = snapshot(store, dataset_id)
    with (
        pytest.raises(NotFoundError),
        open_batch(store, dataset_id, action="bulk_label", description="bad") as b,
    ):
        b.set_label(ids[:3], "zzz")
        b.set_label([999999], "zzz")  # not a row of this dataset: the whole batch rolls back
    assert snapshot(store, dataset_id) == before
    assert history(store, dataset_id) == []
    with pytest.raises(InputError), open_batch(store, dataset_id, action="x", description="x") as b:
        b.set_label(ids, "   ")


def test_empty_batch_leaves_no_trace_and_events_are_readable(store_with_rows):
    store, dataset_id, ids = store_with_rows
    with open_batch(store, dataset_id, action="bulk_label", description="confirm") as b:
        b.set_label(ids[:1], "a")  # same value, but a person confirmed it: the source changes
    with open_batch(store, dataset_id, action="bulk_label", description="no-op") as b:
        b.set_label(ids[:1], "a")  # same value and source again: nothing changes
    assert [h.description for h in history(store, dataset_id)] == ["confirm"]
    with open_batch(store, dataset_id, action="label", description="one") as b:
        b.set_label(ids[:1], ["p", "q"], field="topics")  # a second field, multi-label value
    events = batch_events(store, history(store, dataset_id)[0].id)
    assert events[0]["attribute"] == "label:topics" and events[0]["after"]["value"] == ["p", "q"]
    assert describe_change("label:topics") == "label for 'topics'"
    assert describe_state("label:topics", events[0]["after"]) == "p, q · human"


def test_changes_read_as_words():
    auto = {"value": "Sports", "source": "auto", "confidence": 0.9676, "model_id": "supervised"}
    assert (describe_change("label:label"), describe_state("label:label", auto)) == (
        "label",
        "Sports · auto · 0.97 · supervised",
    )
    assert describe_state("label:label", None) == "(none)"
    assert describe_state("suggestion:label", {"value": "World", "confidence": 0.5, "model_id": None}) == "World · 0.50"
    assert describe_state("label:topics", {"value": [], "source": "human"}) == "none applies · human"
    assert (describe_change("tag:needs-review"), describe_state("tag:needs-review", True)) == (
        "tag 'needs-review'",
        "tagged",
    )
    assert (describe_change("excluded"), describe_state("excluded", False)) == ("excluded", "included")
    spec = {"kind": "multi", "classes": ["a", "b"], "required": False}
    assert (describe_change("schema:3:mentions"), describe_state("schema:3:mentions", spec)) == (
        "question 'mentions'",
        "multi: a, b",
    )


def test_ingest_is_not_undone_row_by_row(tmp_path):
    from core.history import record_ingest

    store = Store(tmp_path / "s.sqlite")
    with store.transaction() as conn:
        dataset_id = store.create_dataset(conn, "d", modality="text", embedding_model="m")
        batch_id = record_ingest(conn, dataset_id, "Ingest 0 rows", 0)
    with pytest.raises(InputError, match="trash"):
        undo(store, batch_id)


def test_dataset_names_unique_and_trash(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    with store.transaction() as conn:
        dataset_id = store.create_dataset(conn, "news", modality="text", embedding_model="m")
    with pytest.raises(ConflictError), store.transaction() as conn:
        store.create_dataset(conn, "news", modality="text", embedding_model="m")
    store.set_deleted(dataset_id, True)
    assert store.datasets() == [] and len(store.datasets(include_deleted=True)) == 1
    store.set_deleted(dataset_id, False)
    assert [d.name for d in store.datasets()] == ["news"]


def test_undo_result_in_words_agrees_with_its_counts():
    from core.history import UndoResult

    assert UndoResult("b", 1074, 1).describe() == "1,074 changes restored; 1 change kept: its row was changed since"
    assert UndoResult("b", 2, 0).describe() == "2 changes restored"
    assert UndoResult("b", 1, 3).describe() == "1 change restored; 3 changes kept: their rows were changed since"


def test_each_batch_records_who_acted_in_its_own_thread(store_with_rows):
    """The app names the actor once per script run; every batch opened inside records it, two sessions
    acting at once (two threads) never swap names, and code outside any `acting_as` records none."""
    import threading

    from core.history import acting_as

    store, dataset_id, ids = store_with_rows
    inside, may_leave = threading.Barrier(2), threading.Barrier(2)
    made: dict[str, str] = {}

    def act(name: str, row_id: int) -> None:
        with acting_as(name):
            inside.wait()  # both names are set before either batch opens
            with open_batch(store, dataset_id, action="bulk_label", description=name) as b:
                b.set_label([row_id], "c", source=LabelSource.HUMAN)
            made[name] = b.id
            may_leave.wait()

    threads = [threading.Thread(target=act, args=(n, i)) for n, i in (("ana", ids[0]), ("  Ben\nO'Neil  ", ids[1]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    by = {b.description: b.actor for b in history(store, dataset_id)}
    assert by == {"ana": "ana", "  Ben\nO'Neil  ": "Ben O'Neil"}  # one line, trimmed

    with acting_as("cy"):
        undo(store, made["ana"])
        undo(store, made["  Ben\nO'Neil  "], actor="dee")  # a caller naming the actor itself wins
    undo(store, history(store, dataset_id, limit=1)[0].id)  # outside: nobody
    assert [b.actor for b in history(store, dataset_id)[:3]] == [None, "dee", "cy"]
    with acting_as("   "), open_batch(store, dataset_id, action="bulk_tag", description="blank name") as b:
        b.set_tag(ids[:1], "x")
    assert history(store, dataset_id, limit=1)[0].actor is None


def test_a_registered_provider_names_the_actor_when_nothing_closer_does(store_with_rows):
    """The app registers the session's name as a provider: asked when a batch opens (a fragment's rerun
    has no enclosing block), after a name the caller gives or an `acting_as` sets."""
    from core.history import acting_as, use_actor_from

    store, dataset_id, ids = store_with_rows
    asked = []

    def provider() -> str:
        asked.append(1)
        return " session\tname "

    use_actor_from(provider)
    try:
        for i, (given, block) in enumerate([(None, None), (None, "block"), ("given", "block")]):
            with acting_as(block), open_batch(store, dataset_id, action="bulk_tag", description="t", actor=given) as b:
                b.set_tag(ids[i : i + 1], "x")
    finally:
        use_actor_from(None)
    assert [b.actor for b in history(store, dataset_id)] == ["given", "block", "session name"]
    assert len(asked) == 1
    with open_batch(store, dataset_id, action="bulk_tag", description="t") as b:
        b.set_tag(ids[3:4], "x")
    assert history(store, dataset_id, limit=1)[0].actor is None


def test_undo_states_read_the_chain_of_undos(store_with_rows):
    """History's "state": an action undone, then redone, then undone again; its undos read the same way."""
    from core.history import undo_states

    store, dataset_id, ids = store_with_rows
    with open_batch(store, dataset_id, action="bulk_tag", description="tag") as b:
        b.set_tag(ids[:2], "x")
    first = undo(store, b.id).batch_id

    def states() -> dict[str, str]:
        batches = history(store, dataset_id)
        by_id = undo_states(batches)
        return {x.description: by_id[x.id] for x in batches}

    assert states() == {"tag": "undone", "Undo: tag": ""}
    second = undo(store, first).batch_id  # redo
    assert states() == {"tag": "redone", "Undo: tag": "undone", "Redo: tag": ""}
    undo(store, second)
    assert states()["tag"] == "undone" and states()["Redo: tag"] == "undone"
