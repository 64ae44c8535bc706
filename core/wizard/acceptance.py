"""Accept: write a prediction's confident rows as auto labels and the rest as suggestions, in one
undoable batch; and how many rows an accept would still change."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from core.actions import BulkResult
from core.errors import InputError
from core.runs import add_to_summary
from core.store import DEFAULT_LABEL_FIELD, ISSUE_FIX_MODEL, chunked
from core.wizard.prediction import ACCEPTS, Prediction
from core.wording import counted
from core.workspace import Workspace


def accept(
    ws: Workspace,
    dataset_id: int,
    prediction: Prediction,
    *,
    threshold: float | None = None,
    only_rows: set[int] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> BulkResult:
    """Auto-label the rows above the threshold; the others get the prediction as a suggestion.

    One batch, undoable as a whole. Rows labeled by a person since training are left alone;
    earlier auto labels are replaced by the new prediction, and an earlier auto label below the
    threshold (an Accept at a lower one) goes back to being a suggestion. ``only_rows`` limits it
    to those rows. The threshold is recorded with the run: while this accept stands (not undone, or
    redone), it is the run's threshold (``Prediction.threshold``), the one rows added later get.
    """
    threshold = prediction.threshold if threshold is None else float(threshold)
    if not 0 <= threshold <= 1:
        raise InputError("A confidence threshold is between 0 and 1.")
    field = prediction.field
    labels, suggestions, retract, _ = _accept_plan(ws, prediction, threshold, only_rows)
    if not labels and not suggestions:
        raise InputError("No row is left to auto-label: every row has a label from a person.")
    model_id = prediction.run.summary["model_id"]
    total = len(labels) + len(suggestions)
    cut = f"{threshold:.{prediction.cut_decimals(threshold)}f}"  # as the page shows it: 0.9503, not 0.950

    def tick(offset: int) -> Callable[[int, int], None] | None:
        return None if on_progress is None else (lambda done, _: on_progress(offset + done, total))

    with ws.batch(
        dataset_id,
        action="auto_label",
        description=("" if field == DEFAULT_LABEL_FIELD else f"'{field}': ")
        + f"Auto-label {counted(len(labels), 'row')} at confidence >= {cut}"
        f" ({prediction.model_in_words});"
        f" {counted(len(suggestions), 'suggestion')}",
    ) as batch:
        changed = batch.set_label(sorted(retract), None, field=field) if retract else 0
        changed += batch.set_predictions(
            labels, model_id=model_id, as_suggestion=False, field=field, on_progress=tick(0)
        )
        changed += batch.set_predictions(
            suggestions, model_id=model_id, as_suggestion=True, field=field, on_progress=tick(len(labels))
        )
        if changed:  # the wizard's threshold is that of the newest accept still standing (core/wizard/prediction.py)
            add_to_summary(batch.conn, prediction.run.id, ACCEPTS, batch.id, threshold)
    return BulkResult(batch.id if changed else None, changed, total)


def _accept_plan(
    ws: Workspace, prediction: Prediction, threshold: float, only_rows: set[int] | None = None
) -> tuple[dict[int, tuple[str, float]], dict[int, tuple[str, float]], set[int], int]:
    """What an accept at ``threshold`` writes: auto labels and suggestions by row, the rows whose
    earlier auto label (below the threshold now) it clears, keeping the prediction as their suggestion,
    and how many of the auto labels rows hold already."""
    states = ws.store.row_states(prediction.row_ids.tolist(), prediction.field)
    labels, suggestions, retract, later, held = {}, {}, set(), {}, 0
    classes = prediction.classes
    for i in prediction.candidates:
        row_id = int(prediction.row_ids[i])
        if only_rows is not None and row_id not in only_rows:
            continue
        state = states.get(row_id)
        if state is None or state["excluded"] or (state["label"] is not None and state["label_source"] != "auto"):
            continue
        guess = (classes[int(prediction.suggested[i])], round(float(prediction.confidence[i]), 4))
        if prediction.confidence[i] >= threshold:
            labels[row_id] = guess
            held += state["label"] == guess[0]  # rows here are unlabeled or auto-labeled
            continue
        if state["label"] is None:
            suggestions[row_id] = guess
        else:
            retract.add(row_id)
            later[row_id] = guess
    # Only auto labels of this model (an accept at a lower threshold) are cleared; another model's, or an
    # Issues auto-fix, stays as it is below the threshold.
    retract &= _auto_labeled_by(ws, retract, prediction)
    suggestions.update((r, later[r]) for r in retract)
    return labels, suggestions, retract, held


def _auto_labeled_by(ws: Workspace, row_ids: set[int], prediction: Prediction) -> set[int]:
    """Those of ``row_ids`` whose current label is an auto label from ``prediction``'s model."""
    found: set[int] = set()
    with ws.store.connect() as conn:
        for part in chunked(sorted(row_ids)):
            found.update(
                r[0]
                for r in conn.execute(
                    f"SELECT row_id FROM labels WHERE field = ? AND source = 'auto' AND model_id = ?"
                    f" AND row_id IN ({','.join('?' * len(part))})",
                    [prediction.field, prediction.run.summary["model_id"], *part],
                )
            )
    return found


def earlier_auto_labels(ws: Workspace, prediction: Prediction, threshold: float) -> int:
    """How many rows below ``threshold`` hold an auto label from an earlier run of the wizard, which an
    accept leaves as it is (``_accept_plan``): after a Retrain they are why Monitor counts more auto labels
    than the promise's rows. The Issues page's auto-fixes are left out (Monitor counts them apart).

    The rows holding such a label are read once per dataset version, as a mask over the candidates; each
    threshold is then a numpy count, so moving the slider queries nothing and leaves the workspace's small
    shared cache to the rest of the page."""
    candidates = prediction.candidates
    held = _earlier_auto_label_mask(ws, prediction)
    return int((held & (prediction.confidence[candidates] < threshold)).sum())


def _earlier_auto_label_mask(ws: Workspace, prediction: Prediction) -> np.ndarray:
    """For each candidate row: does it hold an auto label of another wizard model (not an Issues fix)?"""

    def compute() -> np.ndarray:
        own = prediction.run.summary["model_id"]
        ids = [int(r) for r in prediction.row_ids[prediction.candidates]]
        found: set[int] = set()
        with ws.store.connect() as conn:
            for part in chunked(ids):
                found.update(
                    r[0]
                    for r in conn.execute(
                        "SELECT labels.row_id FROM labels JOIN rows ON rows.id = labels.row_id WHERE labels.field = ?"
                        " AND labels.source = 'auto' AND rows.excluded = 0 AND COALESCE(labels.model_id, '') != ?"
                        " AND COALESCE(labels.model_id, '') NOT LIKE ?"
                        f" AND labels.row_id IN ({','.join('?' * len(part))})",
                        [prediction.field, own, ISSUE_FIX_MODEL + "%", *part],
                    )
                )
        return np.fromiter((i in found for i in ids), dtype=bool, count=len(ids))

    return ws.derived(prediction.run.dataset_id, ("earlier-auto-labels", prediction.run.id), compute)


def accept_pending(ws: Workspace, prediction: Prediction, threshold: float) -> int:
    """How many rows an accept at ``threshold`` would change (auto labels to write or to clear): 0 once
    it has been accepted. The same count as ``_accept_plan``'s: rows open to the wizard above the
    threshold that do not hold its class already, and this model's auto labels below it.

    As in ``earlier_auto_labels``, the candidates' labels are read once per dataset version, as masks, and
    each threshold is a numpy count: the slider and the "Accepted" check query nothing per position and
    leave the workspace's small shared cache to the rest of the page."""
    open_rows, holds_guess, own_auto = _accept_masks(ws, prediction)
    above = prediction.confidence[prediction.candidates] >= threshold
    return int((open_rows & above & ~holds_guess).sum() + (own_auto & ~above).sum())


def decided_since(ws: Workspace, prediction: Prediction, threshold: float) -> int:
    """Rows at or above ``threshold`` that an accept leaves alone because they changed since training: a
    person labeled them (Review, the audit) or excluded them, or their append was undone. The promise
    counts the rows as they were at training; the page takes these out so that the count, the button and
    the History entry agree."""
    open_rows, _, _ = _accept_masks(ws, prediction)
    return int((~open_rows & (prediction.confidence[prediction.candidates] >= threshold)).sum())


def _accept_masks(ws: Workspace, prediction: Prediction) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each candidate row, as ``_accept_plan`` decides: is it open to an accept (there, not excluded,
    unlabeled or auto-labeled); does it hold the suggested class already; does it hold an auto label of
    this model (which an accept below its threshold clears)?"""

    def compute() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        own = prediction.run.summary["model_id"]
        candidates = prediction.candidates
        ids = [int(r) for r in prediction.row_ids[candidates]]
        found: dict[int, tuple] = {}
        with ws.store.connect() as conn:
            for part in chunked(ids):
                for row_id, *state in conn.execute(
                    "SELECT rows.id, rows.excluded, labels.value, labels.source, labels.model_id FROM rows"
                    " LEFT JOIN labels ON labels.row_id = rows.id AND labels.field = ?"
                    f" WHERE rows.id IN ({','.join('?' * len(part))})",
                    [prediction.field, *part],
                ):
                    found[row_id] = tuple(state)
        classes = prediction.classes
        open_rows = np.zeros(len(ids), dtype=bool)
        holds_guess = np.zeros(len(ids), dtype=bool)
        own_auto = np.zeros(len(ids), dtype=bool)
        for k, (row_id, i) in enumerate(zip(ids, candidates, strict=True)):
            if row_id not in found:  # removed since (an undone append)
                continue
            excluded, value, source, model_id = found[row_id]
            if excluded or (value is not None and source != "auto"):
                continue
            open_rows[k] = True
            if value is not None:
                holds_guess[k] = value == classes[int(prediction.suggested[i])]
                own_auto[k] = model_id == own
        return open_rows, holds_guess, own_auto

    return ws.derived(prediction.run.dataset_id, ("accept-masks", prediction.run.id), compute)
