"""Clean Top K: one fix applied to many flagged rows of an issue run, as one undoable batch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum

from core.actions import BulkResult
from core.errors import InputError
from core.issues.report import IssueReport
from core.review import NEEDS_REVIEW
from core.store import LabelSource
from core.workspace import Workspace


class Fix(StrEnum):
    AUTO_FIX = "auto_fix"  # take the suggested label
    EXCLUDE = "exclude"
    SET_LABEL = "set_label"
    NEEDS_REVIEW = "needs_review"


FIX_TITLES = {
    Fix.AUTO_FIX: "Auto-fix (take the suggested label)",
    Fix.EXCLUDE: "Exclude",
    Fix.SET_LABEL: "Set a label",
    Fix.NEEDS_REVIEW: "Mark needs-review",
}


FIX_VERBS = {
    Fix.AUTO_FIX: "Auto-fixed",
    Fix.EXCLUDE: "Excluded",
    Fix.SET_LABEL: "Relabeled",
    Fix.NEEDS_REVIEW: "Marked needs-review on",
}


def fix_rows(
    ws: Workspace,
    dataset_id: int,
    report: IssueReport,
    row_ids: Sequence[int],
    fix: Fix | str,
    *,
    value: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> BulkResult:
    """Apply one fix to the given rows (Clean Top K) as one undoable batch.

    Auto-fix writes each row's suggested label as an auto label (source "auto", the model's
    probability as confidence, the run as model id); rows without a suggestion are skipped.
    """
    fix = Fix(fix)
    row_ids = [int(r) for r in row_ids]
    if not row_ids:
        raise InputError("No rows to fix: the table is empty with these filters.")
    if fix is Fix.SET_LABEL and not (value or "").strip():
        raise InputError("Choose the label to set.")
    description = f"Clean top {len(row_ids):,}: {FIX_TITLES[fix].lower()}"
    if fix is Fix.SET_LABEL:
        description += f" '{value.strip()}'"
    with ws.batch(dataset_id, action=f"issues_{fix}", description=description) as batch:
        if fix is Fix.AUTO_FIX:
            suggestions = {r: report.suggestion(r) for r in row_ids}
            predictions = {r: (s[0], round(s[1], 4)) for r, s in suggestions.items() if s is not None}
            changed = batch.set_predictions(
                predictions,
                model_id=f"label-issues:{report.run.id}",
                as_suggestion=False,
                field=report.field,
                on_progress=on_progress,
            )
        elif fix is Fix.EXCLUDE:
            changed = batch.set_excluded(row_ids, True, on_progress=on_progress)
        elif fix is Fix.NEEDS_REVIEW:
            changed = batch.set_tag(row_ids, NEEDS_REVIEW, True, on_progress=on_progress)
        else:
            from core.labelschema import label_schema

            answer = label_schema(ws.store, dataset_id).question(report.field).check_value(value)  # a list if multi
            changed = batch.set_label(
                row_ids, answer, source=LabelSource.BULK, field=report.field, on_progress=on_progress
            )
            for name in answer if isinstance(answer, list) else [answer]:
                ws.store.add_class(batch.conn, dataset_id, report.field, name)
    return BulkResult(batch.id if changed else None, changed, len(set(row_ids)))
