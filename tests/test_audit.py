"""The audit of the Issues page's auto-fixes, kept apart from the audit of the wizard's auto labels."""

import pytest

from core.audit import AuditedLabels, audit_sample, audit_summary, auto_labeled_rows, record_verdict
from core.history import history
from core.review import ReviewAction, review_row
from core.store import ISSUE_FIX_MODEL

FIXES = AuditedLabels.ISSUE_FIXES


@pytest.fixture
def fixed(ws, dataset):
    """The wizard's auto labels on three unlabeled rows; the three labeled rows auto-fixed, as Clean
    Top K's Auto-fix writes them (source auto, model id ``label-issues:<run id>``). Returns
    (dataset id, wizard rows, fixed rows, the auto-fix's batch id)."""
    dataset_id, ids = dataset
    wizard, fixes = [ids[1], ids[3], ids[4]], [ids[0], ids[2], ids[5]]  # ids 0, 2, 5 came labeled a, b, a
    with ws.batch(dataset_id, action="auto_label", description="wizard") as b:
        b.set_predictions({r: ("a", 0.97) for r in wizard}, model_id="wizard-m1", as_suggestion=False)
    with ws.batch(dataset_id, action="issues_auto_fix", description="Clean top 3: auto-fix") as b:
        b.set_predictions(
            {ids[0]: ("b", 0.7), ids[2]: ("a", 0.6), ids[5]: ("b", 0.55)},
            model_id=f"{ISSUE_FIX_MODEL}run1",
            as_suggestion=False,
        )
    return dataset_id, wizard, fixes, history(ws.store, dataset_id, limit=1)[0].id


def test_a_verdict_counts_in_its_own_audit_only(ws, fixed):
    dataset_id, wizard, fixes, _ = fixed
    assert audit_summary(ws, dataset_id, labels=FIXES).describe() == "No auto-fixed labels checked yet."
    assert auto_labeled_rows(ws, dataset_id, labels=FIXES) == sorted(fixes)
    assert auto_labeled_rows(ws, dataset_id) == sorted(wizard)
    assert sorted(audit_sample(ws, dataset_id, k=10, labels=FIXES)) == sorted(fixes)
    assert sorted(audit_sample(ws, dataset_id, k=10)) == sorted(wizard)

    record_verdict(ws, dataset_id, fixes[0], correct=True)
    record_verdict(ws, dataset_id, fixes[1], correct=False, corrected_to="b")
    fix_audit = audit_summary(ws, dataset_id, labels=FIXES)
    assert (fix_audit.checked, fix_audit.correct) == (2, 1)
    assert audit_summary(ws, dataset_id).checked == 0  # the wizard's audit saw none of it
    low, high = fix_audit.interval()
    assert 0 < low < 0.5 < high < 1
    assert fix_audit.describe().startswith("1 of 2 checked auto-fixed labels was right: measured precision 50%")
    assert audit_sample(ws, dataset_id, k=10, labels=FIXES) == [fixes[2]]  # checked rows leave the sample
    assert sorted(audit_sample(ws, dataset_id, k=10)) == sorted(wizard)

    record_verdict(ws, dataset_id, wizard[0], correct=False, corrected_to="b")  # and the other way round
    wizard_audit = audit_summary(ws, dataset_id)
    assert (wizard_audit.checked, wizard_audit.correct) == (1, 0)
    fix_audit = audit_summary(ws, dataset_id, labels=FIXES)
    assert (fix_audit.checked, fix_audit.correct) == (2, 1)
    assert sorted(audit_sample(ws, dataset_id, k=10, labels=FIXES)) == [fixes[2]]


def test_a_relabel_after_the_verdict_stops_it_counting(ws, fixed):
    dataset_id, _, fixes, _ = fixed
    record_verdict(ws, dataset_id, fixes[0], correct=True)
    record_verdict(ws, dataset_id, fixes[1], correct=False, corrected_to="b")
    assert audit_summary(ws, dataset_id, labels=FIXES).checked == 2
    review_row(ws, dataset_id, fixes[0], ReviewAction.LABEL, value="a")  # the fix judged right is replaced
    review_row(ws, dataset_id, fixes[1], ReviewAction.LABEL, value="a")  # so is the audit's correction
    assert audit_summary(ws, dataset_id, labels=FIXES).checked == 0
    assert audit_sample(ws, dataset_id, k=10, labels=FIXES) == [fixes[2]]  # relabeled rows are no auto-fixes


def test_verdicts_follow_undo_of_the_correction_and_of_the_auto_fix(ws, fixed):
    dataset_id, _, fixes, fix_batch = fixed
    for row in fixes:  # every auto-fix was wrong: none of the run's auto labels is left
        record_verdict(ws, dataset_id, row, correct=False, corrected_to="a" if row != fixes[1] else "b")
    correction = history(ws.store, dataset_id, limit=1)[0].id
    summary = audit_summary(ws, dataset_id, labels=FIXES)
    assert (summary.checked, summary.correct, summary.precision) == (3, 0, 0.0)  # still measured: 0%

    ws.undo(correction)  # the auto-fix is back: the verdict "wrong" still speaks of it
    assert ws.store.row_states([fixes[2]])[fixes[2]]["label_source"] == "auto"
    assert (audit_summary(ws, dataset_id, labels=FIXES).checked, audit_summary(ws, dataset_id).checked) == (3, 0)
    assert audit_sample(ws, dataset_id, k=10, labels=FIXES) == []

    ws.undo(fix_batch)  # the auto-fixes are undone (two corrected rows keep their correction): history now
    assert audit_summary(ws, dataset_id, labels=FIXES).checked == 0
    assert audit_sample(ws, dataset_id, k=10, labels=FIXES) == []


def test_a_verdict_counts_only_while_its_row_is_in_the_dataset_and_not_excluded(ws):
    """The audit measures the auto labels it samples from: rows in the dataset, not excluded. A verdict on
    a row excluded since stops counting (and counts again once it is included); so does one on a row an
    undone append took out (and counts again after the redo)."""
    import pandas as pd

    from core.ingest import mark_paused, start_ingest
    from core.readers import Table
    from core.schema import ColumnMapping

    def add(frame: pd.DataFrame, *, append: bool) -> int:
        # The append is an imported export: its rows come with the wizard's auto labels on them.
        mapping = ColumnMapping(
            text_columns=["text"], label_column="label", id_column="curator_id", restore_curation=append
        )
        job = start_ingest(ws, Table(frame, kind="table"), mapping, "d", source="more.csv", append=append)
        mark_paused(ws, job)  # not embedded: an append is undone as it stands
        return ws.dataset("d").id

    first = {"curator_id": list("1234"), "text": [f"sentence {i}" for i in range(4)], "label": ["a", "", "b", ""]}
    dataset_id = add(pd.DataFrame(first), append=False)
    ids = ws.store.row_ids(dataset_id)
    with ws.batch(dataset_id, action="auto_label", description="wizard") as b:
        b.set_predictions({r: ("a", 0.97) for r in ids}, model_id="wizard-m1", as_suggestion=False)
    record_verdict(ws, dataset_id, ids[0], correct=True)
    record_verdict(ws, dataset_id, ids[1], correct=False, corrected_to="b")
    assert (audit_summary(ws, dataset_id).checked, audit_summary(ws, dataset_id).correct) == (2, 1)
    with ws.batch(dataset_id, action="bulk_exclude", description="exclude the audited rows") as b:
        b.set_excluded(ids[:2])
    assert audit_summary(ws, dataset_id).checked == 0
    ws.undo(history(ws.store, dataset_id, limit=1)[0].id)
    assert (audit_summary(ws, dataset_id).checked, audit_summary(ws, dataset_id).correct) == (2, 1)

    added = pd.DataFrame(
        {
            "curator_id": ["x1", "x2"],
            "text": ["an added sentence", "another added sentence"],
            "given_label": ["", ""],
            "label": ["a", "b"],
            "label_source": ["auto", "auto"],
            "confidence": ["0.98", "0.97"],
            "model_id": ["wizard-m1", "wizard-m1"],
            "excluded": ["false", "false"],
        }
    )
    add(added, append=True)
    new_ids = ws.store.row_ids(dataset_id)[4:]
    assert auto_labeled_rows(ws, dataset_id) == [ids[0], *ids[2:], *new_ids]
    for row in new_ids:
        record_verdict(ws, dataset_id, row, correct=True)
    assert (audit_summary(ws, dataset_id).checked, audit_summary(ws, dataset_id).correct) == (4, 3)
    undone = ws.undo(next(b.id for b in history(ws.store, dataset_id) if b.action == "ingest"))
    assert undone.restored == 2 and ws.store.row_ids(dataset_id) == ids
    assert (audit_summary(ws, dataset_id).checked, audit_summary(ws, dataset_id).correct) == (2, 1)
    ws.undo(undone.batch_id)
    assert (audit_summary(ws, dataset_id).checked, audit_summary(ws, dataset_id).correct) == (4, 3)


def test_a_verdict_on_an_auto_fix_stops_counting_while_its_row_is_excluded(ws, fixed):
    dataset_id, _, fixes, _ = fixed
    record_verdict(ws, dataset_id, fixes[0], correct=True)
    record_verdict(ws, dataset_id, fixes[1], correct=True)
    with ws.batch(dataset_id, action="issues_exclude", description="exclude one") as b:
        b.set_excluded([fixes[0]])
    summary = audit_summary(ws, dataset_id, labels=FIXES)
    assert (summary.checked, summary.correct) == (1, 1)
    assert auto_labeled_rows(ws, dataset_id, labels=FIXES) == sorted([fixes[1], fixes[2]])
