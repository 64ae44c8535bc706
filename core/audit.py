"""Audit: a person checks a random sample of auto labels, and the measured precision is shown
next to the one the wizard promised.

The sample is uniform over rows whose current label came from the auto-labeler, so the share
found correct estimates the precision of all of them; the interval is Wilson's 95% score interval.
Labels the Issues page's auto-fix wrote (also source "auto", model id ``label-issues:…``) have an
audit of their own (``labels=AuditedLabels.ISSUE_FIXES``), kept apart from the wizard's: they come
from another model, on rows chosen because their label looked wrong, with confidences from 50% up,
and mixing the two would measure neither that model nor the wizard's promise (docs/decisions.md,
"Label-issue detection"). A verdict belongs to one audit by the model id of the label it checked.
On a multi-choice question the unit is the class, as in the wizard's promise there: the person
says which of a row's auto classes are right (and may add missing ones), and the precision is
right classes over checked classes.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from core.errors import InputError
from core.labelschema import Kind, label_schema
from core.review import ReviewAction, review_row
from core.store import DEFAULT_LABEL_FIELD, ISSUE_FIX_MODEL, LabelSource, as_classes, now, stored_value
from core.wording import counted
from core.workspace import Workspace


class AuditedLabels(StrEnum):
    """Which auto labels an audit samples and counts."""

    WIZARD = "wizard"  # the auto-label wizard's, set against its promise
    ISSUE_FIXES = "issue_fixes"  # the Issues page's auto-fixes (model id ``label-issues:<run id>``)

    def holds(self, model_id: str | None) -> bool:
        """True if a label (or a verdict) of this model belongs to this audit."""
        return (model_id or "").startswith(ISSUE_FIX_MODEL) == (self is AuditedLabels.ISSUE_FIXES)


@dataclass(frozen=True)
class AuditSummary:
    checked: int
    correct: int
    unit: str = "auto labels"  # what was checked: "auto classes" on a multi-choice question
    one_unit: str = "auto label"  # the same, when one was checked

    @property
    def precision(self) -> float | None:
        return self.correct / self.checked if self.checked else None

    def interval(self, z: float = 1.96) -> tuple[float, float] | None:
        """Wilson score interval for the precision (None before any verdict)."""
        if not self.checked:
            return None
        n, p = self.checked, self.correct / self.checked
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return max(0.0, centre - half), min(1.0, centre + half)

    def describe(self) -> str:
        if not self.checked:
            return f"No {self.unit} checked yet."
        low, high = self.interval()
        return (
            f"{self.correct:,} of {counted(self.checked, f'checked {self.one_unit}', f'checked {self.unit}')}"
            f" {'was' if self.correct == 1 else 'were'} right: measured precision"
            f" {self.precision:.0%} (95% interval {low:.0%}-{high:.0%})."
        )


def auto_labeled_rows(
    ws: Workspace,
    dataset_id: int,
    *,
    field: str = DEFAULT_LABEL_FIELD,
    labels: AuditedLabels = AuditedLabels.WIZARD,
) -> list[int]:
    """Rows (not excluded) whose current answer to ``field`` is an auto label of ``labels``: what the
    audit of ``labels`` samples from."""
    fixes = AuditedLabels(labels) is AuditedLabels.ISSUE_FIXES
    with ws.store.connect() as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT rows.id FROM rows JOIN labels ON labels.row_id = rows.id AND labels.field = ?"
                " WHERE rows.dataset_id = ? AND labels.source = ? AND rows.excluded = 0"
                f" AND COALESCE(labels.model_id, '') {'' if fixes else 'NOT '}LIKE ? ORDER BY rows.id",
                (field, dataset_id, str(LabelSource.AUTO), ISSUE_FIX_MODEL + "%"),
            )
        ]


def audit_sample(
    ws: Workspace,
    dataset_id: int,
    *,
    k: int = 30,
    seed: int = 0,
    field: str = DEFAULT_LABEL_FIELD,
    labels: AuditedLabels = AuditedLabels.WIZARD,
) -> list[int]:
    """``k`` rows whose current answer to ``field`` is an auto label of ``labels`` (the wizard's, or
    the Issues page's auto-fixes) that nobody has checked yet, drawn uniformly at random (seeded).
    The two are never mixed (the module's docstring says why)."""
    if k < 1:
        raise InputError("Choose how many auto labels to check (1 or more).")
    ids = auto_labeled_rows(ws, dataset_id, field=field, labels=labels)
    checked = audited_rows(ws, dataset_id, field, labels=labels)
    ids = [i for i in ids if i not in checked]
    return sorted(random.Random(seed).sample(ids, min(k, len(ids))))


@dataclass(frozen=True)
class _Verdict:
    row_id: int
    predicted: str
    correct: bool
    corrected_to: str | None
    model_id: str | None = None  # the model whose auto label the verdict checked


def standing_verdicts(
    ws: Workspace,
    dataset_id: int,
    field: str = DEFAULT_LABEL_FIELD,
    *,
    labels: AuditedLabels = AuditedLabels.WIZARD,
) -> list[_Verdict]:
    """The verdicts of the audit of ``labels`` that still speak of the current auto labels of ``field``.

    Only rows the audit samples from count: rows in the dataset (an undone append's rows are out of it,
    kept for a redo) that are not excluded, as the sample and the Monitor's figures. On such a row a
    verdict counts while the auto label it checked stands (same model, same answer), or while the
    audit's correction stands and that model still has auto labels here. A verdict on labels that were
    undone, or since replaced by another model's, is history: counting it would measure a model whose
    labels are gone against the current model's promise (and keep its rows out of new samples).
    For an auto-fix the correction (a person's label) counts while the fix it corrected was not undone:
    each Issues run is its own model id, and a small fix whose every row the audit found wrong would
    otherwise leave no model behind, and no verdict, where the audit should say 0%.
    """
    labels = AuditedLabels(labels)
    with ws.store.connect() as conn:
        rows = conn.execute(
            "SELECT audits.row_id, audits.predicted, audits.model_id, audits.correct, audits.corrected_to,"
            " labels.value, labels.source, labels.model_id FROM audits"
            " JOIN rows ON rows.id = audits.row_id AND rows.dataset_id = audits.dataset_id AND rows.excluded = 0"
            " LEFT JOIN labels ON labels.row_id = audits.row_id AND labels.field = audits.field"
            " WHERE audits.dataset_id = ? AND audits.field = ?",
            (dataset_id, field),
        ).fetchall()

    def same(a: str | None, b: str | None) -> bool:
        return sorted(as_classes(stored_value(a))) == sorted(as_classes(stored_value(b)))

    def correction_counts(row_id: int, model: str | None, source: str | None) -> bool:
        """The audit's correction (a person's label, equal to it) stands on a live model's label."""
        if labels is AuditedLabels.ISSUE_FIXES:
            # An undone fix gives the row back the label the check doubted, often the audit's correction
            # itself: the correction's source, a person, tells them apart.
            fixes = ws.derived(dataset_id, ("issue-fixes", field), lambda: _issue_fixes(ws, dataset_id, field))
            return source == str(LabelSource.HUMAN) and (row_id, model) in fixes
        return model in ws.derived(dataset_id, ("auto-models", field), lambda: _auto_models(ws, dataset_id, field))

    out = []
    for row_id, predicted, model, correct, corrected, value, source, label_model in rows:
        if not labels.holds(model):  # the other audit's verdict
            continue
        if source == str(LabelSource.AUTO):
            stands = label_model == model and same(value, predicted)
        else:
            stands = not correct and corrected is not None and same(value, corrected)
            stands = stands and correction_counts(row_id, model, source)
        if stands:
            out.append(_Verdict(row_id, predicted, bool(correct), corrected, model))
    return out


def _auto_models(ws: Workspace, dataset_id: int, field: str) -> frozenset[str]:
    """Models whose auto labels of ``field`` are in the dataset now (a scan of its labels: cached per
    dataset version, which every label change bumps, by the caller)."""
    with ws.store.connect() as conn:
        return frozenset(
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT labels.model_id FROM labels JOIN rows ON rows.id = labels.row_id"
                " WHERE rows.dataset_id = ? AND labels.field = ? AND labels.source = ?",
                (dataset_id, field, str(LabelSource.AUTO)),
            )
        )


def _issue_fixes(ws: Workspace, dataset_id: int, field: str) -> frozenset[tuple[int, str]]:
    """(row, model id) of every auto-fix of ``field`` written by an action that was not undone since
    (an undo's restoring a fix does not make one). A scan of the dataset's label events in the history,
    cached per dataset version by the caller."""
    with ws.store.connect() as conn:
        return frozenset(
            (r[0], r[1])
            for r in conn.execute(
                "SELECT DISTINCT events.row_id, json_extract(events.new, '$.model_id') FROM events"
                " JOIN batches ON batches.id = events.batch_id WHERE batches.dataset_id = ?"
                " AND batches.undone_by IS NULL AND batches.undoes IS NULL AND events.attr = ?"
                " AND json_extract(events.new, '$.source') = ?"
                " AND json_extract(events.new, '$.model_id') LIKE ?",
                (dataset_id, f"label:{field}", str(LabelSource.AUTO), ISSUE_FIX_MODEL + "%"),
            )
        )


def audited_rows(
    ws: Workspace,
    dataset_id: int,
    field: str = DEFAULT_LABEL_FIELD,
    *,
    labels: AuditedLabels = AuditedLabels.WIZARD,
) -> set[int]:
    """Rows whose current auto label (of ``field``, one of ``labels``) a person has checked."""
    return {v.row_id for v in standing_verdicts(ws, dataset_id, field, labels=labels)}


def record_verdict(
    ws: Workspace,
    dataset_id: int,
    row_id: int,
    *,
    correct: bool,
    corrected_to: str | None = None,
    field: str = DEFAULT_LABEL_FIELD,
) -> None:
    """Store a verdict on one auto label of ``field``; a wrong one is relabeled with ``corrected_to``
    (undoable)."""
    row = _auto_answer(ws, dataset_id, row_id, field)
    if not correct and not (corrected_to or "").strip():
        raise InputError("Choose the right class for this row.")
    if not correct:
        review_row(ws, dataset_id, row_id, ReviewAction.LABEL, value=corrected_to, field=field)
    with ws.store.transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO audits(dataset_id, row_id, field, predicted, model_id, correct, corrected_to,"
            " created_at) VALUES(?,?,?,?,?,?,?,?)",
            (dataset_id, row_id, field, row[0], row[2], int(correct), None if correct else corrected_to, now()),
        )


def record_multi_verdict(
    ws: Workspace, dataset_id: int, row_id: int, *, right: Sequence[str], missing: Sequence[str] = (), field: str
) -> None:
    """Store a verdict on one row's auto classes of the multi-choice question ``field``: ``right`` are
    the auto classes that apply, ``missing`` classes the model did not give. If the answer changes,
    the row gets the corrected set as a person's label (undoable; an empty set means none applies)."""
    row = _auto_answer(ws, dataset_id, row_id, field)
    predicted = as_classes(stored_value(row[0]))
    if not set(right) <= set(predicted):
        raise InputError(f"Only the row's auto classes can be marked right ({', '.join(predicted)}).")
    question = label_schema(ws.store, dataset_id).question(field)
    added = question.check_value(list(missing)) or []
    final = sorted({*right, *added})
    if final != sorted(predicted):
        said = ", ".join(final) or "none applies"
        description = f"Audit: '{field}' = {said} (row {ws.store.source_id(row_id)})"
        with ws.batch(dataset_id, action="audit", description=description) as b:
            b.set_label([row_id], final, source=LabelSource.HUMAN, field=field)
            for c in added:
                b.add_class(field, c)
    with ws.store.transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO audits(dataset_id, row_id, field, predicted, model_id, correct, corrected_to,"
            " created_at) VALUES(?,?,?,?,?,?,?,?)",
            (
                dataset_id,
                row_id,
                field,
                row[0],
                row[2],
                int(final == sorted(predicted)),
                None if final == sorted(predicted) else json.dumps(final),
                now(),
            ),
        )


def _auto_answer(ws: Workspace, dataset_id: int, row_id: int, field: str) -> tuple[str, str, str | None]:
    """(stored value, source, model id) of a row's current auto answer to ``field``; raises InputError if
    its answer is not an auto one (a person may have relabeled it since the sample was drawn)."""
    with ws.store.connect() as conn:
        row = conn.execute(
            "SELECT labels.value, labels.source, labels.model_id FROM labels JOIN rows ON rows.id = labels.row_id"
            " WHERE labels.row_id = ? AND labels.field = ? AND rows.dataset_id = ?",
            (row_id, field, dataset_id),
        ).fetchone()
    if row is None or row[1] != str(LabelSource.AUTO):
        raise InputError(f"Row {row_id} has no auto label to check (it may have been relabeled since).")
    return row


def audit_summary(
    ws: Workspace,
    dataset_id: int,
    field: str = DEFAULT_LABEL_FIELD,
    *,
    labels: AuditedLabels = AuditedLabels.WIZARD,
) -> AuditSummary:
    """The measured precision of the auto labels of ``field`` that ``labels`` names (the wizard's by
    default; the Issues page's auto-fixes, which are counted apart, with ``AuditedLabels.ISSUE_FIXES``)."""
    if AuditedLabels(labels) is AuditedLabels.ISSUE_FIXES:
        # Auto-fix writes one class per row: a multi-choice question has no auto-fixes to count in classes.
        verdicts = standing_verdicts(ws, dataset_id, field, labels=labels)
        return AuditSummary(
            checked=len(verdicts),
            correct=sum(v.correct for v in verdicts),
            unit="auto-fixed labels",
            one_unit="auto-fixed label",
        )
    if label_schema(ws.store, dataset_id).question(field).kind is Kind.MULTI:
        return _multi_summary(ws, dataset_id, field)
    verdicts = standing_verdicts(ws, dataset_id, field)
    return AuditSummary(checked=len(verdicts), correct=sum(v.correct for v in verdicts))


def _multi_summary(ws: Workspace, dataset_id: int, field: str) -> AuditSummary:
    """Right auto classes over checked auto classes (a verdict's corrected set decides which were right)."""
    checked = correct = 0
    for verdict in standing_verdicts(ws, dataset_id, field):
        given = set(as_classes(stored_value(verdict.predicted)))
        kept = given if verdict.corrected_to is None else set(as_classes(stored_value(verdict.corrected_to)))
        checked += len(given)
        correct += len(given & kept)
    return AuditSummary(checked=checked, correct=correct, unit="auto classes", one_unit="auto class")
