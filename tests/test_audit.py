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
