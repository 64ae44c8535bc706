"""Rows added after a prediction: find them, and label them at the run's threshold without a new run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import InputError
from core.history import BatchInfo, batch_info, standing
from core.runs import add_to_summary, get_run
from core.store import DEFAULT_LABEL_FIELD
from core.wizard.data import reference_rows, training_data
from core.wizard.prediction import KIND, Prediction, Progress, _prediction
from core.wording import counted
from core.workspace import Workspace


def new_rows(ws: Workspace, dataset_id: int, prediction: Prediction) -> list[int]:
    """Embedded, unlabeled, not excluded rows added after the prediction was made and not predicted
    since (no suggestion either: ``label_new_rows`` gives every row it does not auto-label one). Read
    once per dataset version: the Auto-label page asks on every rerun."""

    def compute() -> tuple[int, ...]:
        known = set(prediction.row_ids.tolist())
        with ws.store.connect() as conn:
            embedded = conn.execute(
                "SELECT id FROM rows WHERE dataset_id = ? AND embedded = 1 AND excluded = 0 ORDER BY position, id",
                (dataset_id,),
            ).fetchall()
        fresh = [r[0] for r in embedded if r[0] not in known]
        states = ws.store.row_states(fresh, prediction.field)
        return tuple(r for r in fresh if states[r]["label"] is None and states[r]["suggested"] is None)

    return list(ws.derived(dataset_id, ("new-rows", prediction.run.id), compute))


NEW_ROWS_ACTION = "auto_label_new_rows"
# In a run's summary: batch id of each new-rows batch -> the accept whose threshold it used ("": the estimated
# one). An undo of that accept leaves the batch standing (it is an action of its own); this says which it was.
NEW_ROWS_BATCHES = "new_rows_batches"


@dataclass(frozen=True)
class NewRowsBatch:
    """A standing batch of ``label_new_rows`` and where its threshold came from."""

    batch: BatchInfo
    made_at: str  # the accept whose threshold it used, "" for the estimated one
    auto_labels: int  # its rows that still hold its auto labels
    at_standing_threshold: bool  # made at the threshold that stands now

    def apart(self) -> str:
        """Why its labels stand apart, for the page, or "" when it was made at the threshold that stands."""
        if self.at_standing_threshold or not self.auto_labels:
            return ""
        why = "an accept undone since" if self.made_at else "a threshold an accept has replaced since"
        held = counted(self.auto_labels, "row")
        return (
            f"{held} still {'holds' if self.auto_labels == 1 else 'hold'} auto labels of '{self.batch.description}',"
            f" made at the threshold of {why}, not at the one that stands now. Undo it in History to take them"
            " away; its rows then come back here to be auto-labeled at the threshold that stands."
        )


def new_rows_batches(ws: Workspace, prediction: Prediction) -> list[NewRowsBatch]:
    """The standing new-rows batches of ``prediction``'s run, oldest first, each with the accept whose threshold
    it used (recorded when it was made) and how many rows still hold its auto labels."""
    made = {str(k): str(v) for k, v in (prediction.run.summary.get(NEW_ROWS_BATCHES) or {}).items()}
    if not made:
        return []
    now_at = prediction.accepted.batch_id if prediction.accepted else ""

    def compute() -> tuple[NewRowsBatch, ...]:
        kept = standing(ws.store, list(made))
        found = []
        for batch_id in (b for b in made if b in kept):
            info = batch_info(ws.store, batch_id)
            if info is not None:
                held = still_held(ws, batch_id, prediction)
                found.append(NewRowsBatch(info, made[batch_id], held, made[batch_id] == now_at))
        return tuple(found)

    # Asked on every rerun of the page (step 1 and Monitor): read once per dataset version.
    key = ("new-rows-batches", prediction.run.id, tuple(made.items()), now_at)
    return list(ws.derived(prediction.run.dataset_id, key, compute))


def still_held(ws: Workspace, batch_id: str, prediction: Prediction) -> int:
    """Rows (not excluded) that ``batch_id`` auto-labeled and that still hold ``prediction``'s auto label."""
    with ws.store.connect() as conn:
        return conn.execute(
            "SELECT COUNT(DISTINCT events.row_id) FROM events JOIN labels ON labels.row_id = events.row_id"
            " AND labels.field = ? JOIN rows ON rows.id = events.row_id WHERE events.batch_id = ? AND events.attr = ?"
            " AND labels.source = 'auto' AND labels.model_id = ? AND rows.excluded = 0",
            (prediction.field, batch_id, f"label:{prediction.field}", prediction.run.summary["model_id"]),
        ).fetchone()[0]


def left_standing_by_undo(ws: Workspace, undone_batch_id: str) -> str:
    """What an undo of ``undone_batch_id`` left standing, in words for its message: for an accept, the new-rows
    batches made at its threshold that still hold auto labels ("" when there are none)."""
    info = batch_info(ws.store, undone_batch_id)
    if info is None or info.action != "auto_label":
        return ""
    with ws.store.connect() as conn:
        runs = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM runs WHERE dataset_id = ? AND kind = ? AND summary_json LIKE ?",
                (info.dataset_id, KIND, f"%{undone_batch_id}%"),
            )
        ]
    said = []
    for run_id in runs:
        prediction = _prediction(ws, get_run(ws, run_id))
        for b in new_rows_batches(ws, prediction):
            if b.made_at == undone_batch_id and b.auto_labels:
                said.append(
                    f"'{b.batch.description}' still stands: {counted(b.auto_labels, 'row')} keep the auto labels it"
                    " wrote at this accept's threshold. Undo it in History too to take them away."
                )
    return " ".join(said)


@dataclass(frozen=True)
class NewRowsResult:
    """What ``label_new_rows`` wrote: one undoable batch of auto labels and suggestions on new rows only."""

    batch_id: str | None  # None when nothing changed
    auto_labels: int
    suggestions: int
    expected_precision: float | None  # mean calibrated confidence of the new auto labels

    def describe(self) -> str:
        text = f"New rows: {counted(self.auto_labels, 'auto label')}, {counted(self.suggestions, 'suggestion')}"
        if self.auto_labels and self.expected_precision is not None:
            text += f" (expected precision of the auto labels {self.expected_precision:.1%})"
        return text


def label_new_rows(
    ws: Workspace,
    dataset_id: int,
    prediction: Prediction,
    *,
    text_embedder: Any = None,
    on_progress: Progress | None = None,
) -> NewRowsResult:
    """Auto-label the rows added since ``prediction`` at its threshold; the rest of them get suggestions.

    ``prediction`` stays the current run: its threshold (the newest standing accept's, read afresh), its
    promise and the labels it wrote are not touched, and no run is stored. The semi-supervised labeler
    cannot score a row it was not fitted with (it spreads labels over a graph of all rows), so the run's
    labeler is fitted again with its
    settings, class descriptions and the current training labels over every row, and only the new
    rows' predictions are used. They are calibrated with the run's own temperature posterior, so the
    run's threshold means on them what it means on the other rows (runs stored before the posterior
    was kept: calibrated out of fold again). One undoable batch.
    """
    from core.autolabel import TemperaturePosterior
    from core.autolabel.plan import fit_for_wizard, refit_for_wizard
    from core.runs import get_run

    progress = on_progress or (lambda f, m: None)
    # The threshold that stands now: the caller's Prediction may predate an accept's undo or redo.
    prediction = _prediction(ws, get_run(ws, prediction.run.id), prediction.arrays)
    fresh = new_rows(ws, dataset_id, prediction)
    if not fresh:
        raise InputError("No new unlabeled rows since the model was trained.")
    summary = prediction.run.summary
    data = training_data(ws, dataset_id, prediction.field)
    if data.classes != prediction.classes:
        raise InputError("The classes have changed since this model was trained: Retrain (step 1) first.")
    settings = dict(summary.get("labeler_params") or {})
    if summary["labeler"] == "reference-set" and settings.get("mode") == "separate":
        settings["reference_rows"] = reference_rows(ws, data)
    common = {
        "settings": settings,
        "class_descriptions": summary.get("class_descriptions") or {},
        "text_embedder": text_embedder,
        "on_progress": lambda f, m: progress(0.9 * f, m),
    }
    weights = prediction.arrays.get("temperature_weights")
    if weights is not None or not summary.get("calibrated"):
        labeler = refit_for_wizard(data, labeler=summary["labeler"], **common)
        proba, suggested = labeler.proba_, labeler.prediction_
        if weights is not None:
            posterior = TemperaturePosterior(prediction.arrays["temperature_grid"], weights, int(summary["n_labeled"]))
            proba = posterior.calibrate(proba)
    else:
        fitted = fit_for_wizard(
            data, labeler=summary["labeler"], target_precision=prediction.target_precision, **common
        )
        proba, suggested = fitted.probabilities, fitted.suggested
    position = {int(r): i for i, r in enumerate(data.row_ids)}
    labels, suggestions = {}, {}
    for row_id in fresh:
        i = position.get(row_id)
        if i is None or suggested[i] < 0:
            continue  # not asked, or the labeler abstains
        confidence = float(proba[i].max())
        guess = (prediction.classes[int(suggested[i])], round(confidence, 4))
        (labels if confidence >= prediction.threshold else suggestions)[row_id] = guess
    if not labels and not suggestions:
        raise InputError("The model makes no prediction for the new rows (the reference set abstains on all).")
    progress(0.95, "Writing labels")
    model_id = summary["model_id"]
    field = prediction.field
    cut = f"{prediction.threshold:.{prediction.cut_decimals(prediction.threshold)}f}"
    with ws.batch(
        dataset_id,
        action=NEW_ROWS_ACTION,
        description=("" if field == DEFAULT_LABEL_FIELD else f"'{field}': ")
        + f"New rows: auto-label {counted(len(labels), 'row')} at confidence >= {cut}"
        f" ({prediction.model_in_words}, fitted again with the new rows in its graph),"
        f" {counted(len(suggestions), 'suggestion')};"
        " earlier rows untouched",
    ) as batch:
        changed = batch.set_predictions(labels, model_id=model_id, as_suggestion=False, field=field)
        changed += batch.set_predictions(suggestions, model_id=model_id, as_suggestion=True, field=field)
        if changed:  # the accept whose threshold it used: its undo leaves this batch apart (new_rows_batches)
            made_at = prediction.accepted.batch_id if prediction.accepted else ""
            add_to_summary(batch.conn, prediction.run.id, NEW_ROWS_BATCHES, batch.id, made_at)
    progress(1.0, "Done")
    precision = float(np.mean([c for _, c in labels.values()])) if labels and summary.get("calibrated") else None
    return NewRowsResult(batch.id if changed else None, len(labels), len(suggestions), precision)
