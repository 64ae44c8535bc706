"""Bulk actions on a selection: classify (as label or as suggestion), tag, exclude.

Each call is one history batch (all or nothing, undoable as a whole) and reports progress.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from core.errors import ConflictError, InputError
from core.labelschema import asked_rows, label_schema
from core.store import DEFAULT_LABEL_FIELD, LabelSource
from core.wording import counted
from core.workspace import Workspace

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BulkResult:
    batch_id: str | None  # None when nothing changed (no history entry)
    changed: int
    selected: int
    skipped: Mapping[str, int] = field(default_factory=dict)  # rows left alone on purpose, by why

    def describe(self, verb: str) -> str:
        parts = [f"{n:,} skipped: {why}" for why, n in self.skipped.items() if n]
        rest = self.selected - self.changed - sum(self.skipped.values())
        parts += [f"{rest:,} already so or skipped"] if rest else []
        return f"{verb} {self.changed:,} of {counted(self.selected, 'row')}" + "".join(f"; {p}" for p in parts)


def _refuse_case_variants(classes: Sequence[str], values: Sequence[str]) -> None:
    """A new class typed as "business" beside "Business" would split one class in two (the Schema page
    refuses it too): raise ConflictError naming the class as it is spelled."""
    for value in values:
        same = next((c for c in classes if c.casefold() == value.casefold() and c != value), None)
        if same is not None:
            raise ConflictError(f"'{same}' is already a class: choose it in the list rather than typing '{value}'.")


def bulk_classify(
    ws: Workspace,
    dataset_id: int,
    row_ids: Sequence[int],
    value: str,
    *,
    as_suggestion: bool = False,
    overwrite: bool = True,
    on_progress: Progress | None = None,
) -> BulkResult:
    """Give the selected rows a class, as their label or as a pre-label for review.

    ``overwrite=False`` leaves rows that already have a label (or a suggestion) as they are.
    """
    value = (value or "").strip()
    if not value:
        raise InputError("Choose a class (or type a new one) first.")
    if not row_ids:
        raise InputError("Select some rows first.")
    _refuse_case_variants(ws.store.classes(dataset_id), [value])
    kind = "suggestion" if as_suggestion else "label"
    with ws.batch(
        dataset_id, action=f"bulk_{kind}", description=f"Bulk {kind} '{value}' on {counted(len(row_ids), 'row')}"
    ) as batch:
        if as_suggestion:
            changed = batch.set_suggestion(row_ids, value, overwrite=overwrite, on_progress=on_progress)
        else:
            changed = batch.set_label(
                row_ids, value, source=LabelSource.BULK, overwrite=overwrite, on_progress=on_progress
            )
        batch.add_class(DEFAULT_LABEL_FIELD, value)
    return BulkResult(batch.id if changed else None, changed, len(set(row_ids)))


def bulk_answer(
    ws: Workspace,
    dataset_id: int,
    row_ids: Sequence[int],
    answers: Mapping[str, str | list[str] | None],
    *,
    as_suggestion: bool = False,
    overwrite: bool = True,
    source: LabelSource = LabelSource.BULK,
    on_progress: Progress | None = None,
) -> BulkResult:
    """Answer any subset of the label schema's questions for the selected rows, as one undoable batch.

    Only the questions answered here change (None or an empty list: left as it is). A sub-question is
    answered only on rows whose parent question has its answer (set here or before)."""
    if not row_ids:
        raise InputError("Select some rows first.")
    schema = label_schema(ws.store, dataset_id)
    chosen = {name: schema.question(name).check_value(value) for name, value in answers.items()}
    chosen = {name: value for name, value in chosen.items() if value is not None}
    if not chosen:
        raise InputError("Answer at least one question first.")
    for name, value in chosen.items():
        _refuse_case_variants(schema.question(name).classes, value if isinstance(value, list) else [value])
    kind = "suggestion" if as_suggestion else "label"
    said = "; ".join(f"{q} = {', '.join(v) if isinstance(v, list) else v}" for q, v in chosen.items())
    ids = sorted({int(r) for r in row_ids})
    changed: set[int] = set()
    with ws.batch(
        dataset_id, action=f"bulk_{kind}", description=f"Bulk {kind} {said} on {counted(len(ids), 'row')}"
    ) as b:
        for q in (q for q in schema.questions if q.name in chosen):  # parents before their sub-questions
            name, value = q.name, chosen[q.name]
            asked = asked_rows(b.conn, dataset_id, q)  # parents come first: their answers here count
            rows = ids if asked is None else [r for r in ids if r in asked]
            if as_suggestion:
                n = b.set_suggestion(rows, value, field=name, overwrite=overwrite, on_progress=on_progress)
            else:
                n = b.set_label(rows, value, field=name, source=source, overwrite=overwrite, on_progress=on_progress)
            if n:
                changed |= set(b.touched)
            for c in value if isinstance(value, list) else [value]:
                b.add_class(name, c)
    return BulkResult(b.id if changed else None, len(changed), len(ids))


def bulk_tag(
    ws: Workspace,
    dataset_id: int,
    row_ids: Sequence[int],
    tag: str,
    *,
    present: bool = True,
    on_progress: Progress | None = None,
) -> BulkResult:
    if not row_ids:
        raise InputError("Select some rows first.")
    verb = "Tag" if present else "Untag"
    with ws.batch(
        dataset_id, action="bulk_tag", description=f"{verb} '{tag}' on {counted(len(row_ids), 'row')}"
    ) as batch:
        changed = batch.set_tag(row_ids, tag, present, on_progress=on_progress)
    return BulkResult(batch.id if changed else None, changed, len(set(row_ids)))


def bulk_exclude(
    ws: Workspace,
    dataset_id: int,
    row_ids: Sequence[int],
    *,
    excluded: bool = True,
    on_progress: Progress | None = None,
) -> BulkResult:
    if not row_ids:
        raise InputError("Select some rows first.")
    verb = "Exclude" if excluded else "Include"
    with ws.batch(dataset_id, action="bulk_exclude", description=f"{verb} {counted(len(row_ids), 'row')}") as batch:
        changed = batch.set_excluded(row_ids, excluded, on_progress=on_progress)
    return BulkResult(batch.id if changed else None, changed, len(set(row_ids)))
