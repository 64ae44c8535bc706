"""Clean Top K: one fix applied to many flagged rows of an issue run, as one undoable batch."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from enum import StrEnum

from core.actions import BulkResult
from core.errors import InputError
from core.issues.report import IssueReport
from core.review import NEEDS_REVIEW
from core.store import ISSUE_FIX_MODEL, LabelSource
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


# Auto-fix never writes a suggestion the model gives less than this: below it the model more likely
# errs than the label (CIFAR demo: the 21 flagged labels were all right; the suggestions, 14-39%).
MIN_AUTO_FIX_PROBABILITY = 0.5
NOT_A_LABEL_ISSUE = "not flagged as a label issue"
DECIDED_SINCE = "fixed or decided on since this run"


def fix_choices(issue: str) -> list[Fix]:
    """The fixes Clean Top K offers for rows filtered by ``issue`` ("any" for every type): Auto-fix
    takes the label check's suggestion, so it does nothing for an outlier or a duplicate."""
    return list(Fix) if issue in ("label", "any") else [f for f in Fix if f is not Fix.AUTO_FIX]


def default_fix(report: IssueReport, issue: str) -> Fix:
    """The fix Clean Top K starts with: Auto-fix only for label issues of a label check that can be
    trusted (:meth:`IssueReport.label_check_unreliable`); otherwise a person looks (needs-review)."""
    if issue == "label" and report.label_check_unreliable() is None:
        return Fix.AUTO_FIX
    return Fix.NEEDS_REVIEW


def auto_fixes(
    report: IssueReport, row_ids: Sequence[int], *, min_probability: float = MIN_AUTO_FIX_PROBABILITY
) -> tuple[dict[int, tuple[str, float]], dict[str, int]]:
    """The (label, probability) Auto-fix writes per row, and how many rows it skips, by why: rows
    the run did not flag as a label issue, and suggestions under ``min_probability``."""
    flagged = report.arrays.get("is_label_issue")
    predictions: dict[int, tuple[str, float]] = {}
    skipped: Counter[str] = Counter()
    for r in dict.fromkeys(int(r) for r in row_ids):
        i, tip = report.index(r), report.suggestion(r)
        if flagged is None or i is None or not flagged[i] or tip is None:
            skipped[NOT_A_LABEL_ISSUE] += 1
        elif tip[1] < min_probability:
            skipped[f"suggestion too unsure (under {min_probability:.0%})"] += 1
        else:
            predictions[r] = (tip[0], round(tip[1], 4))
    return predictions, dict(skipped)


def fix_rows(
    ws: Workspace,
    dataset_id: int,
    report: IssueReport,
    row_ids: Sequence[int],
    fix: Fix | str,
    *,
    value: str | None = None,
    min_probability: float = MIN_AUTO_FIX_PROBABILITY,
    on_progress: Callable[[int, int], None] | None = None,
) -> BulkResult:
    """Apply one fix to the given rows (Clean Top K) as one undoable batch.

    Auto-fix writes each flagged label issue's suggested label as an auto label (source "auto", the
    model's probability as confidence, the run as model id); it skips, and counts in the result, rows
    fixed or decided on since the run, rows not flagged as a label issue and suggestions the model gives
    less than ``min_probability``.
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
    skipped: dict[str, int] = {}
    with ws.batch(dataset_id, action=f"issues_{fix}", description=description) as batch:
        if fix is Fix.AUTO_FIX:
            # The model's class never goes over a person's decision since the run (Keep given, a class
            # chosen, Exclude, needs-review), which Hide fixed rows off puts back in the table.
            decided = report.fixed_since(ws) & set(row_ids)
            predictions, skipped = auto_fixes(
                report, [r for r in row_ids if r not in decided], min_probability=min_probability
            )
            if decided:
                skipped = {DECIDED_SINCE: len(decided), **skipped}
            changed = batch.set_predictions(
                predictions,
                model_id=f"{ISSUE_FIX_MODEL}{report.run.id}",
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
                batch.add_class(report.field, name)
    return BulkResult(batch.id if changed else None, changed, len(set(row_ids)), skipped)
