"""Rows added after a prediction: find them, and label them at the run's threshold without a new run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import InputError
from core.store import DEFAULT_LABEL_FIELD
from core.wizard.data import reference_rows, training_data
from core.wizard.prediction import Prediction, Progress, _prediction
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
    progress(1.0, "Done")
    precision = float(np.mean([c for _, c in labels.values()])) if labels and summary.get("calibrated") else None
    return NewRowsResult(batch.id if changed else None, len(labels), len(suggestions), precision)
