"""Row-by-row review actions, the audit of auto labels, and saved runs."""

import numpy as np
import pytest

from core.audit import audit_sample, audit_summary, record_verdict
from core.errors import InputError
from core.review import NEEDS_REVIEW, ReviewAction, keyed_choices, review_row, still_to_review, top_choices
from core.runs import add_to_summary, latest_run, save_run


def snapshot(ws, dataset_id):
    rows, _ = ws.store.rows_page(dataset_id, limit=100)
    return [(r["label"], r["label_source"], r["suggested"], r["tags"], r["excluded"]) for r in rows]


def test_each_key_action_is_one_undoable_batch(ws, dataset):
    dataset_id, ids = dataset
    before = snapshot(ws, dataset_id)
    with ws.batch(dataset_id, action="suggest", description="model") as b:
        b.set_predictions({ids[1]: ("b", 0.8), ids[3]: ("a", 0.6)}, model_id="m1", as_suggestion=True)
        b.set_label([ids[0]], None)  # row 0 keeps its given label "a" but is unlabeled now
    mid = snapshot(ws, dataset_id)
    batches = [
        review_row(ws, dataset_id, ids[1], ReviewAction.ACCEPT),
        review_row(ws, dataset_id, ids[3], ReviewAction.LABEL, value="c"),
        review_row(ws, dataset_id, ids[0], ReviewAction.KEEP_GIVEN),
        review_row(ws, dataset_id, ids[4], ReviewAction.NEEDS_REVIEW),
        review_row(ws, dataset_id, ids[6], ReviewAction.EXCLUDE),
    ]
    states = ws.store.row_states(ids)
    assert (states[ids[1]]["label"], states[ids[1]]["label_source"]) == ("b", "suggestion_accepted")
    assert states[ids[3]]["label"] == "c" and "c" in ws.store.classes(dataset_id)
    assert (states[ids[0]]["label"], states[ids[0]]["label_source"]) == ("a", "human")
    assert states[ids[4]]["tags"] == [NEEDS_REVIEW] and states[ids[6]]["excluded"]
    assert still_to_review(ws, ids) == [ids[7]]
    for batch_id in reversed(batches):
        ws.undo(batch_id)
    assert snapshot(ws, dataset_id) == mid
    assert mid != before


def test_review_actions_that_do_not_apply_change_nothing(ws, dataset):
    dataset_id, ids = dataset
    before = snapshot(ws, dataset_id)
    with pytest.raises(InputError, match="no suggestion"):
        review_row(ws, dataset_id, ids[1], ReviewAction.ACCEPT)
    with pytest.raises(InputError, match="without a label"):
        review_row(ws, dataset_id, ids[1], ReviewAction.KEEP_GIVEN)
    with pytest.raises(InputError, match="Choose a class"):
        review_row(ws, dataset_id, ids[1], ReviewAction.LABEL, value="  ")
    assert snapshot(ws, dataset_id) == before


def test_review_of_a_further_question_answers_only_it(ws, dataset):
    from core.history import history, read_label
    from core.labelschema import add_question

    dataset_id, ids = dataset
    add_question(ws, dataset_id, "tone", classes=["calm", "alarming"])
    with ws.batch(dataset_id, action="suggest", description="model") as b:
        b.set_predictions({ids[1]: ("calm", 0.9)}, model_id="m1", as_suggestion=True, field="tone")
    before = snapshot(ws, dataset_id)
    assert still_to_review(ws, ids[:3], field="tone") == ids[:3]
    first = review_row(ws, dataset_id, ids[1], ReviewAction.ACCEPT, field="tone")
    second = review_row(ws, dataset_id, ids[2], ReviewAction.LABEL, value="alarming", field="tone")
    with ws.store.connect() as conn:
        tone = {r: read_label(conn, r, "tone") for r in ids[:3]}
    assert tone[ids[0]] is None
    assert (tone[ids[1]]["value"], tone[ids[1]]["source"]) == ("calm", "suggestion_accepted")
    assert (tone[ids[2]]["value"], tone[ids[2]]["source"]) == ("alarming", "human")
    assert snapshot(ws, dataset_id) == before  # the first question is untouched
    assert still_to_review(ws, ids[:3], field="tone") == ids[:1]
    said = f"Review: 'tone': label 'alarming' (row {ws.store.source_id(ids[2])})"  # the id people know
    assert history(ws.store, dataset_id, limit=1)[0].description == said
    for batch_id in (second, first):
        ws.undo(batch_id)
    assert still_to_review(ws, ids[:3], field="tone") == ids[:3]


def test_audits_are_kept_per_question_and_an_older_workspace_is_upgraded(ws, dataset):
    import sqlite3

    from core.labelschema import add_question
    from core.store import Store

    dataset_id, ids = dataset
    add_question(ws, dataset_id, "tone", classes=["calm", "alarming"])
    with ws.batch(dataset_id, action="auto", description="auto labels") as b:
        b.set_label(ids[:2], "a", source="auto", model_id="m")
        b.set_label(ids[:2], "calm", source="auto", model_id="m", field="tone")
    record_verdict(ws, dataset_id, ids[0], correct=True)
    record_verdict(ws, dataset_id, ids[0], correct=False, corrected_to="alarming", field="tone")
    assert (audit_summary(ws, dataset_id).correct, audit_summary(ws, dataset_id, "tone").correct) == (1, 0)
    assert audit_sample(ws, dataset_id, k=5, field="tone") == [ids[1]]
    assert ws.store.row_states([ids[0]], "tone")[ids[0]]["label"] == "alarming"

    # A workspace made before audits had a question: its verdicts become the first question's.
    path = ws.store.path
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "DROP TABLE audits; CREATE TABLE audits(dataset_id INTEGER NOT NULL, row_id INTEGER NOT NULL,"
            " predicted TEXT NOT NULL, model_id TEXT, correct INTEGER NOT NULL, corrected_to TEXT,"
            " created_at TEXT NOT NULL, PRIMARY KEY(dataset_id, row_id));"
        )
        conn.execute("INSERT INTO audits VALUES(?, ?, 'a', 'm', 1, NULL, 'then')", (dataset_id, ids[1]))
    Store(path)
    with sqlite3.connect(path) as conn:
        kept = conn.execute("SELECT row_id, field, correct FROM audits").fetchall()
    assert kept == [(ids[1], "label", 1)]
    Store(path)  # upgrading twice changes nothing


def test_top_choices_best_first():
    assert top_choices(np.array([0.1, 0.7, 0.2]), ["a", "b", "c"], k=2) == [("b", 0.7), ("c", 0.2)]


def test_keys_stand_for_the_same_class_on_every_row_up_to_nine_classes():
    classes = ["negative", "positive"]
    for probs in ([0.3, 0.7], [0.8, 0.2]):  # ranked best first, key 1 was "positive" then "negative"
        ranked = top_choices(np.array(probs), classes)
        assert [c for c, _ in keyed_choices(ranked, classes)] == classes
    assert keyed_choices([("b", 0.9), ("a", 0.1)], ["a", "b", "c"]) == [("a", 0.1), ("b", 0.9), ("c", None)]
    many = [f"c{i}" for i in range(12)]  # beyond nine: the row's nine most probable, best first
    ranked = top_choices(np.linspace(0.01, 0.12, 12), many)
    assert keyed_choices(ranked, many) == ranked[:9] and ranked[0][0] == "c11"


def test_audit_measures_precision_of_auto_labels(ws, dataset):
    dataset_id, ids = dataset
    with ws.batch(dataset_id, action="auto_label", description="auto") as b:
        b.set_predictions({r: ("a", 0.97) for r in ids[1:5]}, model_id="m1", as_suggestion=False)
    sample = audit_sample(ws, dataset_id, k=3, seed=1)
    assert len(sample) == 3 and set(sample) <= set(ids[1:5])
    record_verdict(ws, dataset_id, sample[0], correct=True)
    record_verdict(ws, dataset_id, sample[1], correct=False, corrected_to="b")
    with pytest.raises(InputError):
        record_verdict(ws, dataset_id, sample[2], correct=False)
    summary = audit_summary(ws, dataset_id)
    assert (summary.checked, summary.correct, summary.precision) == (2, 1, 0.5)
    low, high = summary.interval()
    assert 0 < low < 0.5 < high < 1
    assert ws.store.row_states([sample[1]])[sample[1]]["label"] == "b"
    assert set(audit_sample(ws, dataset_id, k=10)) == set(ids[1:5]) - {sample[0], sample[1]}  # checked rows left out
    with pytest.raises(InputError, match="no auto label"):
        record_verdict(ws, dataset_id, ids[0], correct=True)


def test_audit_counts_only_verdicts_on_labels_that_still_stand(ws, dataset):
    """Undo the accepted batch, or let another model relabel: the old verdicts stop counting."""
    from core.history import history

    dataset_id, ids = dataset
    with ws.batch(dataset_id, action="auto_label", description="auto") as b:
        b.set_predictions({r: ("a", 0.97) for r in ids[1:5]}, model_id="m1", as_suggestion=False)
    accepted = history(ws.store, dataset_id, limit=1)[0].id
    record_verdict(ws, dataset_id, ids[1], correct=True)
    record_verdict(ws, dataset_id, ids[2], correct=False, corrected_to="b")
    correction = history(ws.store, dataset_id, limit=1)[0].id
    assert (audit_summary(ws, dataset_id).checked, audit_summary(ws, dataset_id).correct) == (2, 1)

    ws.undo(correction)  # the auto label is back: the verdict "wrong" still speaks of it
    assert (audit_summary(ws, dataset_id).checked, audit_summary(ws, dataset_id).correct) == (2, 1)
    assert ids[2] not in audit_sample(ws, dataset_id, k=10)

    ws.undo(accepted)  # no auto labels left: nothing measured, nothing to sample
    assert audit_summary(ws, dataset_id).checked == 0 and audit_sample(ws, dataset_id, k=10) == []

    with ws.batch(dataset_id, action="auto_label", description="auto again") as b:
        b.set_predictions({r: ("a", 0.9) for r in ids[1:3]}, model_id="m2", as_suggestion=False)
    assert audit_summary(ws, dataset_id).checked == 0  # m1's verdicts say nothing of m2's labels
    assert audit_sample(ws, dataset_id, k=10) == ids[1:3]


def test_runs_are_stored_and_reloaded(ws, dataset):
    dataset_id, _ = dataset
    assert latest_run(ws, dataset_id, "autolabel") is None
    run = save_run(
        ws,
        dataset_id,
        "autolabel",
        dataset_version=3,
        settings={"labeler": "x"},
        summary={"threshold": 0.9},
        arrays={"row_ids": np.arange(4), "probabilities": np.eye(4, 2, dtype=np.float32)},
    )
    loaded = latest_run(ws, dataset_id, "autolabel")
    assert loaded.id == run.id and loaded.summary == {"threshold": 0.9} and loaded.key == run.key
    assert np.array_equal(loaded.arrays()["row_ids"], np.arange(4))
    with ws.store.transaction() as conn:  # an accept records its threshold inside its own transaction
        add_to_summary(conn, run.id, "accepts", "batch1", 0.8)
    assert latest_run(ws, dataset_id, "autolabel").summary == {"threshold": 0.9, "accepts": {"batch1": 0.8}}


def test_accept_takes_the_models_suggestion_when_none_is_stored(ws, dataset):
    dataset_id, ids = dataset
    batch_id = review_row(ws, dataset_id, ids[1], ReviewAction.ACCEPT, model_suggestion=("b", 0.7, "m2"))
    state = ws.store.row_states([ids[1]])[ids[1]]
    assert (state["label"], state["label_source"]) == ("b", "suggestion_accepted")
    ws.undo(batch_id)
    assert ws.store.row_states([ids[1]])[ids[1]]["label"] is None


def test_promise_with_no_rows_says_what_to_do():
    from core.wizard import Promise

    text = Promise(0.99, 0, 1.0, 124).describe()
    assert "No row is confident enough" in text and "label more rows" in text
    assert Promise(0.8, 10, 0.9, 100).describe().startswith("10 of 100 rows (10%) will be auto-labeled")
    why = "even the most confident rows are not expected to reach 95% precision"
    assert Promise(1.0, 0, 1.0, 124, why_none=why).describe() == f"No row is auto-labeled: {why}."


def test_a_promise_of_a_few_rows_does_not_expect_zero_wrong_below_full_precision():
    """2 rows at 77.4% read "we expect about 0 of them to be wrong ... (estimated precision 77.4%)"; and 2 of
    5,960 rows read "(0%)"."""
    from core.wizard import Promise

    text = Promise(0.78, 2, 0.774, 5960, interval=(0.5, 1.0)).describe()
    assert text.startswith("2 of 5,960 rows (<1%) will be auto-labeled") and "about 0 " not in text
    assert "we expect fewer than 1 of them to be wrong, likely 0 to 1 (estimated precision 77.4%)" in text
    assert "we expect about 161 of them" in Promise(0.65, 500, 0.678, 5960).describe()  # as before
    assert "(8%)" in Promise(0.65, 500, 0.678, 5960).describe()
