"""Train: fit an auto-labeler, calibrate it out of fold, choose the threshold and store the run;
grow the separate reference set."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from core.actions import BulkResult
from core.errors import InputError
from core.runs import new_run_id, save_run
from core.store import DEFAULT_LABEL_FIELD
from core.wizard.data import REFERENCE_TAG, reference_rows, training_data
from core.wizard.prediction import CREDIBILITY, KIND, Prediction, Progress, _prediction
from core.wording import counted
from core.workspace import Workspace


def train(
    ws: Workspace,
    dataset_id: int,
    *,
    labeler: str = "auto",
    target_precision: float = 0.95,
    settings: dict[str, Any] | None = None,
    class_descriptions: dict[str, str] | None = None,
    text_embedder: Any = None,
    field: str = DEFAULT_LABEL_FIELD,
    on_progress: Progress | None = None,
) -> Prediction:
    """Fit an auto-labeler, calibrate it out of fold, choose the threshold, store the run.

    Parameters
    ----------
    labeler
        A registered auto-labeler name, or "auto": supervised when every class has labeled rows,
        zero-shot from class names otherwise.
    target_precision
        The share of auto labels that should be right; the threshold is chosen to meet it.
    class_descriptions
        Optional short descriptions per class, used by the zero-shot labeler.
    text_embedder
        Embeds class names for zero-shot (the dataset's text model, or MiniLM for images).
    field
        The single-choice question of the label schema to answer (multi-choice ones: core.multilabel).
    """
    from core import autolabel

    progress = on_progress or (lambda f, m: None)
    progress(0.02, "Reading vectors and labels")
    data = training_data(ws, dataset_id, field)
    if len(data.row_ids) == 0:
        raise InputError("No embedded rows to answer this question yet (for a sub-question: answer its parent).")
    if len(data.classes) < 2:
        raise InputError("Auto-labeling needs at least two classes: add class names or label a few rows.")
    version = ws.store.dataset(dataset_id).version
    settings = dict(settings or {})
    fit_settings = dict(settings)
    if labeler == "reference-set" and settings.get("mode") == "separate":
        fit_settings["reference_rows"] = reference_rows(ws, data)
    fitted = autolabel.fit_for_wizard(
        data,
        labeler=labeler,
        target_precision=target_precision,
        settings=fit_settings,
        class_descriptions=class_descriptions or {},
        text_embedder=text_embedder,
        dataset=ws.store.dataset(dataset_id),
        ws=ws,
        credibility=CREDIBILITY,
        on_progress=progress,
    )
    progress(0.97, "Storing the predictions")
    trained = data.y >= 0
    estimate = fitted.estimate
    run_id = new_run_id()
    summary = {
        "question": field,
        "classes": data.classes,
        "labeler": fitted.labeler,
        "labeler_params": _json_params(fitted.plan.labeler.get_params()),
        "labeler_in_words": fitted.plan.labeler.in_words,
        "labeler_title": fitted.plan.labeler.title,  # messages and the History name the model with it
        # One id per trained run (the labeler and its settings, then the run): an audit verdict, or an accept
        # at a higher threshold, must tell this run's auto labels from an earlier run's of the same labeler.
        "model_id": f"{fitted.model_id}:{run_id}",
        "target_precision": target_precision,
        "threshold": float(fitted.threshold),
        "estimated_threshold": float(fitted.threshold),
        "expected_precision": estimate.expected_precision if estimate is not None else None,
        "precision_interval": list(estimate.precision_interval or []) if estimate is not None else None,
        "why_none": estimate.why_none if estimate is not None else "",
        "why_none_reason": estimate.why_none_reason if estimate is not None else "",
        "calibrated": fitted.calibrated,
        "credibility": CREDIBILITY,
        "n_labeled": data.n_labeled,
        "oof_accuracy": fitted.oof_accuracy,
        "notes": fitted.notes,
        "class_descriptions": dict(class_descriptions or {}),  # rows added later are labeled with the same prior
        "training_fingerprint": _fingerprint(ws, data),
    }
    run = save_run(
        ws,
        dataset_id,
        KIND,
        dataset_version=version,
        settings={
            "labeler": labeler,
            "target_precision": target_precision,
            **settings,
            **({"question": field} if field != DEFAULT_LABEL_FIELD else {}),
        },
        summary=summary,
        arrays={
            "row_ids": data.row_ids,
            "probabilities": fitted.probabilities.astype(np.float32),
            "suggested": np.asarray(fitted.suggested, dtype=np.int64),
            "trained": trained,
            **_band(estimate),
            **_calibration(fitted.plan.posterior),
        },
        run_id=run_id,
    )
    progress(1.0, "Done")
    return _prediction(ws, run)


def nothing_new(
    ws: Workspace,
    prediction: Prediction,
    *,
    labeler: str = "auto",
    target_precision: float = 0.95,
    settings: dict[str, Any] | None = None,
    class_descriptions: dict[str, str] | None = None,
) -> str:
    """Why training again would repeat ``prediction``'s run, or "" when something it learns from changed.

    Same rows, training labels, reference set and classes (accepts and suggestions do not count: a model
    never learns from its own guesses) and same settings make the same model, so the page skips the
    retrain and says so rather than store an identical run, which would also drop the run's accepted
    state. Runs stored before the fingerprint was kept always train again."""
    run = prediction.run
    fingerprint = run.summary.get("training_fingerprint")
    same_settings = (
        run.settings.get("labeler") == labeler
        and abs(float(run.settings.get("target_precision", -1)) - target_precision) < 1e-9
        and all(run.settings.get(k) == v for k, v in (settings or {}).items())
        and (run.summary.get("class_descriptions") or {}) == dict(class_descriptions or {})
    )
    if fingerprint is None or not same_settings:
        return ""
    if _fingerprint(ws, training_data(ws, run.dataset_id, prediction.field)) != fingerprint:
        return ""
    return (
        f"Nothing has changed since this model was trained ({counted(int(run.summary['n_labeled']), 'labeled row')},"
        " same settings): training again would give the same model, so it was not retrained. Label rows in"
        " Review (step 2), or change the target or the labeler, then Retrain."
    )


def labels_changed_since(ws: Workspace, prediction: Prediction) -> bool:
    """Whether what the run's model learns from (rows, training labels, classes, reference set) changed
    since it was trained: what the page's "Retrain to learn from them" must mean, so that a Retrain it
    asks for is not then refused by :func:`nothing_new`. Accepts, suggestions, tags and undos move the
    dataset's version without changing it. Runs stored before the fingerprint was kept compare versions."""
    run = prediction.run
    fingerprint = run.summary.get("training_fingerprint")
    if fingerprint is None:
        return ws.dataset(run.dataset_id).version != run.dataset_version
    now = ws.derived(
        run.dataset_id,
        ("training-fingerprint", prediction.field),
        lambda: _fingerprint(ws, training_data(ws, run.dataset_id, prediction.field)),
    )
    return now != fingerprint


def _fingerprint(ws: Workspace, data: Any) -> str:
    """What a model learns from, hashed: the rows, their training labels, the classes, the reference set."""
    blob = hashlib.sha256()
    blob.update(np.ascontiguousarray(data.row_ids, dtype=np.int64).tobytes())
    blob.update(np.ascontiguousarray(data.y, dtype=np.int64).tobytes())
    blob.update(json.dumps(data.classes).encode())
    blob.update(np.ascontiguousarray(reference_rows(ws, data), dtype=np.int64).tobytes())
    return blob.hexdigest()[:16]


def promote_references(
    ws: Workspace, dataset_id: int, *, per_class: int = 10, min_confidence: float = 0.9
) -> BulkResult:
    """Grow the separate reference set: tag "reference" on the labeled rows the current references
    (all labeled rows while the set is empty) predict as their own label most confidently, at most
    ``per_class`` per class. One undoable batch."""
    from core.autolabel import AutoLabelData, ReferenceSetLabeler, promote

    data = training_data(ws, dataset_id)
    if data.n_labeled == 0:
        raise InputError("Label some rows first: references are labeled rows.")
    current = reference_rows(ws, data)
    mode = "separate" if len(current) else "unified"
    labeler = ReferenceSetLabeler(mode=mode, reference_rows=current if len(current) else None)
    labeler.fit(AutoLabelData(data.vectors, data.classes, texts=data.texts), data.y)
    rows, _ = promote(labeler, data.y, reference_rows=current, per_class=per_class, min_confidence=min_confidence)
    if not len(rows):
        raise InputError(
            f"No labeled row outside the reference set is predicted as its own label with {min_confidence:.0%}"
            " confidence: label more rows or lower the confidence."
        )
    row_ids = [int(data.row_ids[i]) for i in rows]
    with ws.batch(
        dataset_id,
        action="promote_references",
        description=f"Promote {counted(len(row_ids), 'row')} into the reference set",
    ) as batch:
        changed = batch.set_tag(row_ids, REFERENCE_TAG)
    return BulkResult(batch.id if changed else None, changed, len(row_ids))


def _json_params(params: dict[str, Any]) -> dict[str, Any]:
    """The labeler's settings that can be stored and passed back (scalars only)."""
    return {k: v for k, v in params.items() if isinstance(v, str | int | float | bool) or v is None}


def _band(estimate: Any) -> dict[str, np.ndarray]:
    """The 10-90% posterior band of the precision curve, when the estimate has one."""
    if estimate is None:
        return {}
    curve = estimate.curve
    return {"band_rows": np.asarray(curve.rows), "band_lower": curve.lower, "band_upper": curve.upper}


def _calibration(posterior: Any) -> dict[str, np.ndarray]:
    """The temperature posterior the run's probabilities were calibrated with (rows added later are
    calibrated with it too), when the run has one."""
    if posterior is None:
        return {}
    return {"temperature_grid": posterior.log_temperatures, "temperature_weights": posterior.weights}
