"""One call from labels to a promise: choose a labeler by cross-validation, fit it, calibrate it
out of fold and pick the threshold for a target precision.

``fit_for_wizard`` adapts this to the wizard's training data (core/wizard/data.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import clone

from core.autolabel.base import AutoLabelData, AutoLabeler, check_labels, create_autolabeler
from core.autolabel.supervised import SupervisedLabeler
from core.autolabel.threshold import (
    TemperaturePosterior,
    ThresholdEstimate,
    cross_val_fits,
    cross_val_proba,
    estimate_threshold,
    fit_temperature,
)
from core.autolabel.zeroshot import ZeroShotLabeler
from core.errors import InputError

Progress = Callable[[float, str], None]
MIN_LABELED_FOR_PROMISE = 10


def default_labelers(data: AutoLabelData, y: np.ndarray) -> list[AutoLabeler]:
    """Candidates for "automatic", for cross-validation to pick from.

    When every class has at least two labeled rows: semi-supervised (with the class-name prior
    if class embeddings exist, and without it, since vague class names can mislead), and plain
    supervised (best where neighbours in the embedding space do not share labels, e.g. sentiment
    with MiniLM). Otherwise zero-shot, refined over the graph.
    """
    y = check_labels(y, data)
    counts = np.bincount(y[y >= 0], minlength=data.n_classes)
    if counts.min() >= 2:
        candidates = [SupervisedLabeler()]
        if data.class_embeddings is not None:
            candidates.append(SupervisedLabeler(class_prior=False))
        return [*candidates, SupervisedLabeler(semi_supervised=False)]
    if data.class_embeddings is not None:
        # Refining over the graph helps on thousands of rows (AG News 2k: 87% vs 64%) but collapses
        # small ones onto one class (AG News 300 rows: 45% vs 66%).
        return [ZeroShotLabeler(refine=data.n_rows >= 1000)]
    missing = [data.class_names[c] for c in np.flatnonzero(counts < 2)][:5]
    raise InputError(
        f"Label at least two rows of every class (missing: {', '.join(missing)}), or describe the classes"
        " so the zero-shot labeler can start."
    )


@dataclass(frozen=True)
class AutoLabelPlan:
    """A fitted labeler, calibrated probabilities for every row and the promise for the candidates."""

    labeler: AutoLabeler
    proba: np.ndarray  # (n_rows, n_classes); calibrated when ``estimate`` is not None
    prediction: np.ndarray  # suggested class, -1 where the labeler abstains
    candidates: np.ndarray  # rows that may be auto-labeled: unlabeled and not abstained
    estimate: ThresholdEstimate | None  # None: no labeled rows to measure precision on
    oof_rows: np.ndarray
    oof_proba: np.ndarray
    labels: np.ndarray  # the y the plan was made from
    scores: dict[str, float] = field(default_factory=dict)  # calibrated out-of-fold log loss per candidate
    notes: list[str] = field(default_factory=list)
    posterior: TemperaturePosterior | None = None  # the calibration (None: nothing promised)

    @property
    def auto_rows(self) -> np.ndarray:
        """Rows to auto-label (indices into all rows)."""
        return self.candidates[self.estimate.selected] if self.estimate else np.zeros(0, np.int64)

    @property
    def auto_classes(self) -> np.ndarray:
        return self.prediction[self.auto_rows]

    @property
    def oof_accuracy(self) -> float | None:
        if len(self.oof_rows) == 0:
            return None
        return float(np.mean(self.oof_proba.argmax(axis=1) == self.labels[self.oof_rows]))


def _log_loss(proba: np.ndarray, labels: np.ndarray) -> float:
    calibrated = fit_temperature(proba, labels).calibrate(proba)
    return float(-np.mean(np.log(np.clip(calibrated[np.arange(len(labels)), labels], 1e-12, 1.0))))


def plan_autolabel(
    data: AutoLabelData,
    y: np.ndarray | Sequence[int],
    *,
    labelers: Sequence[AutoLabeler] | None = None,
    target_precision: float = 0.95,
    credibility: float = 0.9,
    per_class: bool = False,
    n_folds: int = 5,
    seed: int = 0,
    on_progress: Progress | None = None,
) -> AutoLabelPlan:
    """Fit the best of ``labelers`` (default: ``default_labelers``) and estimate the threshold.

    Each candidate is cross-validated on the labeled rows; the one with the lowest calibrated
    out-of-fold log loss is refitted on all labels. Its out-of-fold predictions calibrate the
    probabilities and set the threshold (``estimate_threshold``). With fewer than
    ``MIN_LABELED_FOR_PROMISE`` labeled rows nothing is promised: ``estimate`` is None and the
    probabilities are the labeler's own.

    ``on_progress(fraction, message)`` hears from 0.1 to 0.95 in proportion to the fits made (every
    candidate's folds, then the final fit), the work that takes the time, so a bar can estimate what is left.
    """
    report = on_progress or (lambda f, m: None)
    y = check_labels(y, data)
    candidates = list(labelers) if labelers else default_labelers(data, y)
    n_labeled = int((y >= 0).sum())
    can_promise = n_labeled >= MIN_LABELED_FOR_PROMISE and len(np.unique(y[y >= 0])) >= 2
    notes: list[str] = []
    counts = np.bincount(y[y >= 0], minlength=data.n_classes)
    if not labelers and n_labeled and counts.min() < 2:  # the labels were set aside: say why
        short = [data.class_names[c] for c in np.flatnonzero(counts < 2)]
        named = ", ".join(f"'{c}'" for c in short[:5]) + (" ..." if len(short) > 5 else "")
        notes.append(
            f"Zero-shot from the class names: {named} {'has' if len(short) == 1 else 'have'} fewer than two"
            f" labeled rows, so the {n_labeled:,} labels only measure it; label two rows of every class to"
            " train on them."
        )
    scores: dict[str, float] = {}
    oof: list[tuple[np.ndarray, np.ndarray]] = []
    best = 0
    fits = [cross_val_fits(c, y, n_folds=n_folds) if can_promise else 0 for c in candidates]
    done = 0

    def progress(message: str) -> None:
        report(0.1 + 0.85 * done / (sum(fits) + 1), message)

    if can_promise:
        losses = []
        for i, labeler in enumerate(candidates):
            fold = 0

            def fitted(labeler: AutoLabeler = labeler, i: int = i) -> None:
                nonlocal done, fold
                done, fold = done + 1, fold + 1
                if fold < fits[i]:
                    progress(f"Cross-validating: {labeler.title} ({fold + 1} of {fits[i]} folds)")

            progress(f"Cross-validating: {labeler.title}" + (f" (1 of {fits[i]} folds)" if fits[i] > 1 else ""))
            oof.append(cross_val_proba(labeler, data, y, n_folds=n_folds, seed=seed, on_fit=fitted))
            losses.append(_log_loss(oof[i][1], y[oof[i][0]]))
            scores[labeler.model_id] = losses[i]
        best = int(np.argmin(losses))
        if len(candidates) > 1:
            ranked = ", ".join(f"{candidates[j].title} {losses[j]:.3f}" for j in np.argsort(losses, kind="stable"))
            notes.append(f"Chosen among {len(candidates)} by out-of-fold log loss, lower is better: {ranked}.")
    elif n_labeled:
        notes.append(f"Only {n_labeled} labeled rows: too few to estimate precision (need {MIN_LABELED_FOR_PROMISE}).")
    else:
        notes.append("No labeled rows: confidences are the model's own, not a measured precision.")
    progress(f"Fitting on all labels: {candidates[best].title}")
    labeler = clone(candidates[best]).fit(data, y)
    if collapsed := getattr(labeler, "collapsed_", None):
        named = ", ".join(f"'{c}'" for c in collapsed[:5])
        notes.append(
            f"Spreading the class names over similar rows put almost no row in {named}: the rows' similarity to"
            " the names is used as it is. Describing the classes (or labeling a few rows of each) helps."
        )
    prediction = labeler.prediction_
    eligible = np.flatnonzero((y < 0) & (prediction >= 0))
    if not can_promise:
        empty = np.zeros(0, np.int64)
        return AutoLabelPlan(
            labeler, labeler.proba_, prediction, eligible, None, empty, np.zeros((0, data.n_classes)), y, scores, notes
        )
    rows, oof_proba = oof[best]
    done += 1
    progress("Estimating the threshold")
    estimate = estimate_threshold(
        oof_proba,
        y[rows],
        labeler.proba_[eligible],
        target_precision=target_precision,
        credibility=credibility,
        per_class=per_class,
    )
    posterior = fit_temperature(oof_proba, y[rows])
    proba = posterior.calibrate(labeler.proba_)
    return AutoLabelPlan(labeler, proba, prediction, eligible, estimate, rows, oof_proba, y, scores, notes, posterior)


@dataclass(frozen=True)
class WizardFit:
    """What core/wizard/training.py stores: calibrated probabilities and how they were made."""

    probabilities: np.ndarray
    suggested: np.ndarray  # -1 where the labeler abstains
    labeler: str
    model_id: str
    calibrated: bool
    oof_accuracy: float | None
    notes: str
    threshold: float
    estimate: ThresholdEstimate | None
    plan: AutoLabelPlan


def class_texts(class_names: Sequence[str], descriptions: Mapping[str, str]) -> list[str]:
    """The strings to embed per class: "name: description" when a description is given."""
    return [f"{c}: {descriptions[c]}" if descriptions.get(c) else c for c in class_names]


def wizard_data(
    data: Any, class_descriptions: Mapping[str, str] | None, text_embedder: Any, progress: Progress
) -> tuple[AutoLabelData, list[str]]:
    """The wizard's training data as ``AutoLabelData``, class names embedded when their vectors live in
    the rows' space (or, for images without CLIP, the ConSE concept space); notes for the page."""
    class_embeddings, notes = None, []
    zero_shot_x = getattr(data, "zero_shot_vectors", None)
    if text_embedder is not None:
        progress(0.05, "Embedding the class names")
        vectors = np.asarray(text_embedder.embed_texts(class_texts(data.classes, class_descriptions or {})))
        space = np.asarray(zero_shot_x if zero_shot_x is not None else data.vectors)
        if vectors.shape[1] == space.shape[1]:
            class_embeddings = vectors
        else:
            notes.append("Class names live in another vector space than the rows: no zero-shot prior.")
    auto_data = AutoLabelData(
        data.vectors,
        data.classes,
        texts=data.texts,
        class_embeddings=class_embeddings,
        zero_shot_X=zero_shot_x if class_embeddings is not None else None,
    )
    return auto_data, notes


def refit_for_wizard(
    data: Any,
    *,
    labeler: str,
    settings: Mapping[str, Any] | None = None,
    class_descriptions: Mapping[str, str] | None = None,
    text_embedder: Any = None,
    on_progress: Progress | None = None,
) -> AutoLabeler:
    """Fit one named labeler with its settings on ``data`` (no cross-validation, no calibration): a
    stored run's model again, e.g. over rows added since (the graph labelers need every row)."""
    progress = on_progress or (lambda f, m: None)
    auto_data, _ = wizard_data(data, class_descriptions, text_embedder, progress)
    progress(0.3, "Fitting the model on the rows")
    return create_autolabeler(labeler, **dict(settings or {})).fit(auto_data, data.y)


def fit_for_wizard(
    data: Any,
    *,
    labeler: str = "auto",
    target_precision: float = 0.95,
    settings: Mapping[str, Any] | None = None,
    class_descriptions: Mapping[str, str] | None = None,
    text_embedder: Any = None,
    credibility: float = 0.9,
    on_progress: Progress | None = None,
    **_context: Any,
) -> WizardFit:
    """Adapter for the wizard: ``data`` has ``vectors``, ``y``, ``classes`` and ``texts``.

    Class names (with their descriptions) are embedded with ``text_embedder`` when its vectors
    live in the rows' space, which turns on the zero-shot labeler and the class-name prior. For
    images without CLIP, ``data.zero_shot_vectors`` (ConSE concept vectors in the text model's
    space, core/concepts.py) is that space. ``_context`` (workspace, dataset) is accepted and unused.
    """
    progress = on_progress or (lambda f, m: None)
    auto_data, notes = wizard_data(data, class_descriptions, text_embedder, progress)
    labelers = None if labeler == "auto" else [create_autolabeler(labeler, **dict(settings or {}))]
    plan = plan_autolabel(
        auto_data,
        data.y,
        labelers=labelers,
        target_precision=target_precision,
        credibility=credibility,
        on_progress=progress,
    )
    return WizardFit(
        probabilities=plan.proba,
        suggested=plan.prediction,
        labeler=plan.labeler.name,
        model_id=plan.labeler.model_id,
        calibrated=plan.estimate is not None,
        oof_accuracy=plan.oof_accuracy,
        notes=" ".join(notes + plan.notes),
        threshold=plan.estimate.threshold if plan.estimate else 1.0,
        estimate=plan.estimate,
        plan=plan,
    )
