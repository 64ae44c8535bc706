"""The auto-label wizard over a dataset: train, promise a precision, accept, review, retrain.

``train`` fits a registered auto-labeler (core/autolabel/) on the rows people labeled, predicts
every other row, estimates from out-of-fold predictions the confidence threshold that meets the
target precision, and stores all of it as a saved run (core/runs.py). The page reloads the newest
run instead of training again. ``accept`` writes the rows above the threshold as auto labels and
the rest as suggestions, in one undoable batch.

Training labels are the current labels whose source is not the auto-labeler itself (given,
human, bulk, accepted suggestions): a model never learns from its own guesses. Excluded rows
take no part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from core.actions import BulkResult
from core.errors import InputError
from core.projection import dataset_vectors
from core.runs import Run, latest_run, new_run_id, save_run, update_summary
from core.store import DEFAULT_LABEL_FIELD, LabelSource, chunked
from core.wording import counted
from core.workspace import Workspace

KIND = "autolabel"
CREDIBILITY = 0.9  # the threshold asks for the target with this posterior probability (docs/autolabel.md)
Progress = Callable[[float, str], None]  # (fraction done, what is happening)


@dataclass(frozen=True)
class TrainingData:
    """Every embedded, not excluded row of a dataset, with its training label (or -1)."""

    row_ids: np.ndarray
    vectors: np.ndarray
    y: np.ndarray  # index into classes, -1 where no person-given label
    classes: list[str]
    texts: list[str] | None  # for text datasets: the lexical (TF-IDF) view
    auto_labeled: np.ndarray  # current label came from the auto-labeler
    zero_shot_vectors: np.ndarray | None = None  # images without CLIP: ConSE vectors in the text space

    @property
    def n_labeled(self) -> int:
        return int((self.y >= 0).sum())


def training_data(ws: Workspace, dataset_id: int, field: str = DEFAULT_LABEL_FIELD) -> TrainingData:
    """What the auto-labelers see (rows in dataset order) for one single-choice question of the label
    schema. A sub-question covers only the rows whose parent answer holds."""
    from core.labelschema import asked_rows, label_schema

    dataset = ws.store.dataset(dataset_id)
    question = label_schema(ws.store, dataset_id).question(field)
    row_ids, vectors = dataset_vectors(ws, dataset_id)
    with ws.store.connect() as conn:
        info = {
            r[0]: (r[1], r[2], r[3], r[4])
            for r in conn.execute(
                "SELECT rows.id, rows.excluded, rows.text, labels.value, labels.source FROM rows"
                " LEFT JOIN labels ON labels.row_id = rows.id AND labels.field = ? WHERE rows.dataset_id = ?",
                (field, dataset_id),
            )
        }
        asked = asked_rows(conn, dataset_id, question)
    keep = [i for i, r in enumerate(row_ids) if not info[r][0] and (asked is None or r in asked)]
    row_ids = np.asarray(row_ids, dtype=np.int64)[keep]
    vectors = vectors[keep] if len(keep) else np.zeros((0, 0), np.float32)
    classes = list(ws.store.classes(dataset_id, field))
    for r in row_ids:  # a label outside the class list (typed in bulk) still counts
        value, source = info[int(r)][2], info[int(r)][3]
        if value is not None and source != LabelSource.AUTO and value not in classes and not value.startswith("["):
            classes.append(value)
    index = {c: i for i, c in enumerate(classes)}
    y = np.array(
        [index.get(info[int(r)][2], -1) if info[int(r)][3] != LabelSource.AUTO else -1 for r in row_ids],
        dtype=np.int64,
    )
    auto = np.array([info[int(r)][3] == LabelSource.AUTO for r in row_ids], dtype=bool)
    texts = [info[int(r)][1] or "" for r in row_ids] if dataset.modality == "text" else None
    return TrainingData(row_ids, vectors, y, classes, texts, auto, _concept_vectors(ws, dataset, row_ids))


def _concept_vectors(ws: Workspace, dataset: Any, row_ids: np.ndarray) -> np.ndarray | None:
    """ConSE vectors of an image dataset embedded without CLIP (None otherwise, or if missing)."""
    from core.concepts import concept_space_id
    from core.embedders import DEFAULT_TEXT_MODEL, EMBEDDERS, parse_model_id
    from core.errors import NotFoundError

    name, _ = parse_model_id(dataset.embedding_model)
    if dataset.modality != "image" or not EMBEDDERS[name].text_queries_via_class_names:
        return None
    space = concept_space_id(dataset.embedding_model)
    try:
        ids, vectors = dataset_vectors(ws, dataset.id, space=space, cache_id=f"{space}|{DEFAULT_TEXT_MODEL}")
    except NotFoundError:
        return None
    position = {r: i for i, r in enumerate(ids)}
    if any(int(r) not in position for r in row_ids):
        return None
    return vectors[[position[int(r)] for r in row_ids]]


@dataclass(frozen=True)
class Promise:
    """What accepting at a threshold means, in the words the page uses."""

    threshold: float
    rows: int  # rows that get an auto label
    expected_precision: float | None  # None: no labeled rows to measure it on
    candidates: int  # rows without a person-given label
    interval: tuple[float, float] | None = None  # 10-90% predictive precision (approximated off the estimate)
    why_none: str = ""  # at the estimated threshold with no rows: why the target is out of reach

    @property
    def expected_wrong(self) -> int | None:
        if self.expected_precision is None:
            return None
        return round(self.rows * (1 - self.expected_precision))

    @property
    def coverage(self) -> float:
        return self.rows / self.candidates if self.candidates else 0.0

    def describe(self, *, accepted: bool = False) -> str:
        """The promise in words; ``accepted``: these rows hold the auto labels already."""
        verb = "were" if accepted else "will be"
        if self.expected_precision is None:
            return (
                f"{counted(self.rows, 'row')} {verb} auto-labeled. Their precision cannot be estimated without"
                " labeled rows: label a few rows of each class and train again."
            )
        if self.rows == 0 and self.why_none:
            return f"No row is auto-labeled: {self.why_none}."
        if self.rows == 0:
            return (
                f"No row is confident enough to auto-label at this threshold ({self.threshold:.3f}): label more"
                " rows (Review), lower the target precision, or move the threshold."
            )
        likely = ""
        if self.interval:
            low, high = round(self.rows * (1 - self.interval[1])), round(self.rows * (1 - self.interval[0]))
            likely = f", likely {low:,} to {high:,}"
        return (
            f"{self.rows:,} of {counted(self.candidates, 'row')} ({self.coverage:.0%}) {verb} auto-labeled;"
            f" we expect about {self.expected_wrong:,} of them to be wrong{likely}"
            f" (estimated precision {self.expected_precision:.1%})."
        )


@dataclass(frozen=True)
class Prediction:
    """A stored auto-label run, ready to draw and to accept."""

    run: Run
    row_ids: np.ndarray
    probabilities: np.ndarray  # (rows, classes), calibrated
    trained: np.ndarray  # rows whose label the model learned from
    arrays: dict[str, np.ndarray]  # everything stored with the run (suggested, precision band)

    @property
    def classes(self) -> list[str]:
        return list(self.run.summary["classes"])

    @property
    def field(self) -> str:
        """The label-schema question this run answers."""
        return self.run.summary.get("question", DEFAULT_LABEL_FIELD)

    @property
    def threshold(self) -> float:
        return float(self.run.summary["threshold"])

    @property
    def target_precision(self) -> float:
        return float(self.run.summary["target_precision"])

    @cached_property
    def suggested(self) -> np.ndarray:
        """Class index per row; -1 where the labeler abstains (reference set below its similarity)."""
        return self.arrays.get("suggested", self.probabilities.argmax(axis=1))

    @cached_property
    def confidence(self) -> np.ndarray:
        """Calibrated probability of the suggested class; 0 where the labeler abstains."""
        return np.where(self.suggested >= 0, self.probabilities.max(axis=1), 0.0)

    @cached_property
    def candidates(self) -> np.ndarray:
        """Rows the wizard may label: no person-given label at training time, and a suggestion."""
        return np.flatnonzero(~self.trained & (self.suggested >= 0))

    @cached_property
    def abstained(self) -> int:
        return int((~self.trained & (self.suggested < 0)).sum())

    def promise(self, threshold: float | None = None) -> Promise:
        """Rows above ``threshold`` (default: the run's) and their expected precision: the mean
        calibrated confidence of those rows (probabilities are calibrated on out-of-fold
        predictions, so each one is the chance that row is right)."""
        threshold = self.threshold if threshold is None else float(threshold)
        conf = self.confidence[self.candidates]
        chosen = conf >= threshold
        summary = self.run.summary
        interval, why_none = None, ""
        if not summary.get("calibrated"):
            precision = None
        elif threshold == summary.get("estimated_threshold") and summary.get("expected_precision") is not None:
            precision = float(summary["expected_precision"])  # the estimate itself (posterior mean)
            interval = tuple(summary["precision_interval"]) if summary.get("precision_interval") else None
        else:
            precision = float(conf[chosen].mean()) if chosen.any() else 1.0
            interval = self._moved_interval(conf[chosen]) if chosen.any() else None
            if threshold == summary.get("estimated_threshold"):
                why_none = summary.get("why_none", "")  # the estimate found no rows: say why
        return Promise(threshold, int(chosen.sum()), precision, len(conf) + self.abstained, interval, why_none)

    def _moved_interval(self, chosen: np.ndarray) -> tuple[float, float] | None:
        """10-90% range of the precision of the ``chosen`` rows' confidences at a threshold the user moved.

        The estimate's own interval is predictive (posterior samples with Bernoulli draws, in
        core/autolabel/threshold.py), but the samples are not stored. This is a normal approximation of
        the same two parts, added in quadrature on each side: the calibration's spread, read from the
        run's stored 10-90% band at this many rows, and the rows' own luck, the 10-90% range of a sum of
        Bernoulli draws, 1.28 standard deviations of sqrt(sum p(1 - p)) / k. Both are rough for a handful
        of rows; the band is interpolated between its ~100 stored points."""
        band = self.arrays
        if "band_rows" not in band or len(band["band_rows"]) < 2:
            return None
        k = len(chosen)
        p = float(chosen.mean())
        lower = float(np.interp(k, band["band_rows"], band["band_lower"]))
        upper = float(np.interp(k, band["band_rows"], band["band_upper"]))
        z = 1.2816  # the 90% quantile of a standard normal: a 10-90% range is +-z standard deviations
        luck = z * float(np.sqrt(np.sum(chosen * (1.0 - chosen)))) / k
        return max(0.0, p - float(np.hypot(max(p - lower, 0.0), luck))), min(
            1.0, p + float(np.hypot(max(upper - p, 0.0), luck))
        )

    def threshold_explained(self) -> str:
        """Why the estimated threshold stops well before the expected-precision curve crosses the target
        (empty when it does not, or nothing was estimated): it asks for the target with ``credibility``."""
        summary = self.run.summary
        estimated = summary.get("estimated_threshold")
        if not summary.get("calibrated") or estimated is None or "band_rows" not in self.arrays:
            return ""
        curve = self.curve()
        reach = np.flatnonzero(curve["precision"] >= self.target_precision)
        if not len(reach):
            return ""
        crossing = float(curve["coverage"][reach.max()])
        chosen = self.promise(estimated).coverage
        if crossing - chosen < 0.02:
            return ""
        target, credibility = self.target_precision, float(summary.get("credibility", CREDIBILITY))
        return (
            f"Why the threshold is stricter than the curve suggests: the line is the expected precision, and it"
            f" stays above {target:.0%} up to {crossing:.0%} of the rows; the threshold asks for more, a"
            f" {credibility:.0%} probability that the precision reaches {target:.0%}, which is about where the"
            f" lower edge of the shaded 10-90% band meets the target ({chosen:.0%} of the rows). With"
            f" {counted(int(summary['n_labeled']), 'labeled row')} the calibration is uncertain, and over-reaching"
            " costs more precision than stopping early costs coverage. More labels narrow the band; you may move"
            " the threshold, and the promise and its range follow it."
        )

    def curve(self) -> dict[str, np.ndarray]:
        """Expected precision vs coverage over every possible threshold (most confident first)."""
        conf = np.sort(self.confidence[self.candidates])[::-1]
        k = np.arange(1, len(conf) + 1)
        eligible = max(len(conf) + self.abstained, 1)
        return {"threshold": conf, "rows": k, "coverage": k / eligible, "precision": np.cumsum(conf) / k}

    def roll_up(self, threshold: float | None = None) -> list[dict[str, Any]]:
        """Hierarchical classes: per top-level parent, the rows auto-labeled at ``threshold`` and their
        expected precision for the exact class and for the parent alone (the probability mass of the
        suggested class's siblings); empty when the classes are flat."""
        from core.labelschema import SEPARATOR

        classes = self.classes
        if not any(SEPARATOR in c for c in classes):
            return []
        threshold = self.threshold if threshold is None else float(threshold)
        top = np.array([c.split(SEPARATOR)[0] for c in classes])
        rows = self.candidates[self.confidence[self.candidates] >= threshold]
        suggested = self.suggested[rows]
        same = top[None, :] == top[suggested][:, None]  # (rows, classes): under the suggested parent
        parent_p = (self.probabilities[rows] * same).sum(axis=1)
        out = []
        for parent in sorted(set(top[suggested].tolist())):
            mine = top[suggested] == parent
            out.append(
                {
                    "parent": parent,
                    "rows": int(mine.sum()),
                    "expected precision (class)": round(float(self.confidence[rows][mine].mean()), 3),
                    "expected precision (parent)": round(float(parent_p[mine].mean()), 3),
                }
            )
        return out

    def row_confidence(self) -> dict[int, float]:
        return dict(zip(self.row_ids.tolist(), self.confidence.tolist(), strict=True))


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
        # One id per trained run (the labeler and its settings, then the run): an audit verdict, or an accept
        # at a higher threshold, must tell this run's auto labels from an earlier run's of the same labeler.
        "model_id": f"{fitted.model_id}:{run_id}",
        "target_precision": target_precision,
        "threshold": float(fitted.threshold),
        "estimated_threshold": float(fitted.threshold),
        "expected_precision": estimate.expected_precision if estimate is not None else None,
        "precision_interval": list(estimate.precision_interval or []) if estimate is not None else None,
        "why_none": estimate.why_none if estimate is not None else "",
        "calibrated": fitted.calibrated,
        "credibility": CREDIBILITY,
        "n_labeled": data.n_labeled,
        "oof_accuracy": fitted.oof_accuracy,
        "notes": fitted.notes,
        "class_descriptions": dict(class_descriptions or {}),  # rows added later are labeled with the same prior
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
    return _prediction(run)


REFERENCE_TAG = "reference"


def reference_rows(ws: Workspace, data: TrainingData) -> np.ndarray:
    """Positions (in ``data``) of the curated reference set: labeled rows tagged "reference"."""
    with ws.store.connect() as conn:
        tagged = {r[0] for r in conn.execute("SELECT row_id FROM tags WHERE tag = ?", (REFERENCE_TAG,))}
    return np.array([i for i, r in enumerate(data.row_ids) if int(r) in tagged and data.y[i] >= 0], dtype=np.int64)


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


def latest_prediction(ws: Workspace, dataset_id: int, field: str = DEFAULT_LABEL_FIELD) -> Prediction | None:
    """The newest run answering ``field`` (a question of the label schema)."""
    run = latest_run(ws, dataset_id, KIND, question=field)
    return None if run is None else _prediction(run)


def _prediction(run: Run, arrays: dict[str, np.ndarray] | None = None) -> Prediction:
    """A run as a Prediction; ``arrays``: the run's arrays already loaded (a UI cache keyed by run id,
    since a stored run's arrays never change; its summary, e.g. a moved threshold, is read fresh)."""
    arrays = run.arrays() if arrays is None else arrays
    return Prediction(run, arrays["row_ids"], arrays["probabilities"], arrays["trained"], arrays)


def move_threshold(ws: Workspace, prediction: Prediction, threshold: float) -> Prediction:
    """Keep a threshold the user chose (it is what ``accept`` and new rows use)."""
    if not 0 <= threshold <= 1:
        raise InputError("A confidence threshold is between 0 and 1.")
    run = update_summary(ws, prediction.run, threshold=float(threshold))
    return Prediction(run, prediction.row_ids, prediction.probabilities, prediction.trained, prediction.arrays)


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
    to those rows.
    """
    threshold = prediction.threshold if threshold is None else float(threshold)
    field = prediction.field
    labels, suggestions, retract, _ = _accept_plan(ws, prediction, threshold, only_rows)
    if not labels and not suggestions:
        raise InputError("No row is left to auto-label: every row has a label from a person.")
    model_id = prediction.run.summary["model_id"]
    total = len(labels) + len(suggestions)

    def tick(offset: int) -> Callable[[int, int], None] | None:
        return None if on_progress is None else (lambda done, _: on_progress(offset + done, total))

    with ws.batch(
        dataset_id,
        action="auto_label",
        description=("" if field == DEFAULT_LABEL_FIELD else f"'{field}': ")
        + f"Auto-label {counted(len(labels), 'row')} at confidence >= {threshold:.3f} ({model_id});"
        f" {counted(len(suggestions), 'suggestion')}",
    ) as batch:
        changed = batch.set_label(sorted(retract), None, field=field) if retract else 0
        changed += batch.set_predictions(
            labels, model_id=model_id, as_suggestion=False, field=field, on_progress=tick(0)
        )
        changed += batch.set_predictions(
            suggestions, model_id=model_id, as_suggestion=True, field=field, on_progress=tick(len(labels))
        )
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


def accept_pending(ws: Workspace, prediction: Prediction, threshold: float) -> int:
    """How many rows an accept at ``threshold`` would change (auto labels to write or to clear): 0 once
    it has been accepted. Cached per dataset version."""

    def compute() -> int:
        labels, _, retract, held = _accept_plan(ws, prediction, threshold)
        return len(labels) - held + len(retract)

    return ws.derived(prediction.run.dataset_id, ("accept-pending", prediction.run.id, float(threshold)), compute)


def review_queue(
    ws: Workspace, prediction: Prediction, *, strategy: str = "margin", n: int = 20, seed: int = 0
) -> list[int]:
    """The ``n`` open rows a person should label next, most informative first (the same answer while
    the dataset version stays the same: every decision is a batch that bumps it)."""
    from core.review import still_to_review
    from core.sampling import create_strategy

    def compute() -> tuple[int, ...]:
        sampler = create_strategy(strategy)
        open_rows = set(still_to_review(ws, prediction.row_ids.tolist(), field=prediction.field))
        pool = np.array([int(r) in open_rows for r in prediction.row_ids])
        if not pool.any():
            return ()
        embeddings = None
        if sampler.needs_embeddings:
            row_ids, vectors = dataset_vectors(ws, prediction.run.dataset_id)
            position = {r: i for i, r in enumerate(row_ids)}
            embeddings = vectors[[position[int(r)] for r in prediction.row_ids]]
        picked = sampler.query(prediction.probabilities, n, embeddings=embeddings, labeled_mask=~pool, rng=seed)
        return tuple(int(prediction.row_ids[i]) for i in picked)

    key = ("review-queue", prediction.run.id, strategy, n, seed)
    return list(ws.derived(prediction.run.dataset_id, key, compute))


def add_classes(ws: Workspace, dataset_id: int, names: list[str]) -> list[str]:
    """Name the classes of a dataset that has no labels yet (zero-shot needs them); returns all."""
    clean = [n.strip() for n in names if n.strip()]
    if not clean:
        raise InputError("Type at least one class name.")
    if any(len(n) > 200 for n in clean):
        raise InputError("A class name is at most 200 characters; put the longer text in its description.")
    with ws.store.transaction() as conn:
        for name in dict.fromkeys(clean):  # one by one: the order typed is kept
            ws.store.add_class(conn, dataset_id, DEFAULT_LABEL_FIELD, name)
    return ws.store.classes(dataset_id)


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

    ``prediction`` stays the current run: its threshold, its promise and the labels it wrote are not
    touched, and no run is stored. The semi-supervised labeler cannot score a row it was not fitted
    with (it spreads labels over a graph of all rows), so the run's labeler is fitted again with its
    settings, class descriptions and the current training labels over every row, and only the new
    rows' predictions are used. They are calibrated with the run's own temperature posterior, so the
    run's threshold means on them what it means on the other rows (runs stored before the posterior
    was kept: calibrated out of fold again). One undoable batch.
    """
    from core.autolabel import TemperaturePosterior
    from core.autolabel.plan import fit_for_wizard, refit_for_wizard

    progress = on_progress or (lambda f, m: None)
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
    with ws.batch(
        dataset_id,
        action=NEW_ROWS_ACTION,
        description=("" if field == DEFAULT_LABEL_FIELD else f"'{field}': ")
        + f"New rows: auto-label {counted(len(labels), 'row')} at confidence >= {prediction.threshold:.3f}"
        f" ({model_id}, fitted again with the new rows in its graph), {counted(len(suggestions), 'suggestion')};"
        " earlier rows untouched",
    ) as batch:
        changed = batch.set_predictions(labels, model_id=model_id, as_suggestion=False, field=field)
        changed += batch.set_predictions(suggestions, model_id=model_id, as_suggestion=True, field=field)
    progress(1.0, "Done")
    precision = float(np.mean([c for _, c in labels.values()])) if labels and summary.get("calibrated") else None
    return NewRowsResult(batch.id if changed else None, len(labels), len(suggestions), precision)
