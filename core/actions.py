"""Bulk actions on a selection: classify (as label or as suggestion), tag, exclude.

Each call is one history batch (all or nothing, undoable as a whole) and reports progress.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.errors import InputError
from core.store import DEFAULT_LABEL_FIELD, LabelSource
from core.workspace import Workspace

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BulkResult:
    batch_id: str | None  # None when nothing changed (no history entry)
    changed: int
    selected: int

    def describe(self, verb: str) -> str:
        skipped = self.selected - self.changed
        extra = f"; {skipped:,} already so or skipped" if skipped else ""
        return f"{verb} {self.changed:,} of {self.selected:,} rows{extra}"


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
    kind = "suggestion" if as_suggestion else "label"
    with ws.batch(
        dataset_id, action=f"bulk_{kind}", description=f"Bulk {kind} '{value}' on {len(row_ids):,} rows"
    ) as batch:
        if as_suggestion:
            changed = batch.set_suggestion(row_ids, value, overwrite=overwrite, on_progress=on_progress)
        else:
            changed = batch.set_label(
                row_ids, value, source=LabelSource.BULK, overwrite=overwrite, on_progress=on_progress
            )
        ws.store.add_class(batch.conn, dataset_id, DEFAULT_LABEL_FIELD, value)
    return BulkResult(batch.id if changed else None, changed, len(set(row_ids)))


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
    with ws.batch(dataset_id, action="bulk_tag", description=f"{verb} '{tag}' on {len(row_ids):,} rows") as batch:
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
    with ws.batch(dataset_id, action="bulk_exclude", description=f"{verb} {len(row_ids):,} rows") as batch:
        changed = batch.set_excluded(row_ids, excluded, on_progress=on_progress)
    return BulkResult(batch.id if changed else None, changed, len(set(row_ids)))
