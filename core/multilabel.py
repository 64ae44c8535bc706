"""Auto-labeling a multi-choice question: one-vs-rest probabilities and a threshold per class.

Each class is a yes/no question of its own: a logistic regression on the stored embeddings, trained on
the rows people answered (a row answered without the class is a "no"). Five-fold out-of-fold
probabilities give, per class, the lowest threshold whose out-of-fold precision (of every row at or
above it) meets the target; a class with too few examples for that gets no threshold and is only
suggested. Accepting gives each unanswered row the classes above their thresholds, as one undoable
batch; the promise counts (row, class) decisions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from core.actions import BulkResult
from core.errors import InputError
from core.labelschema import Kind, label_schema
from core.projection import dataset_vectors
from core.runs import Run, latest_run, new_run_id, save_run
from core.store import LabelSource, stored_value
from core.wording import counted
from core.workspace import Workspace

KIND = "autolabel"
MIN_POSITIVES = 8  # labeled rows with the class, and without it, before a threshold is trusted
MIN_SUPPORT = 10  # out-of-fold rows at or above a threshold before its precision counts
SUGGEST_AT = 0.5
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class MultiPromise:
    rows: int  # unanswered rows that get at least one class
    assignments: int  # (row, class) pairs written
    expected_wrong: float
    candidates: int

    @property
    def expected_precision(self) -> float | None:
        return 1 - self.expected_wrong / self.assignments if self.assignments else None

    def describe(self) -> str:
        if not self.assignments:
            return (
                "No class is confident enough on any unanswered row: answer more rows (each class needs"
                f" {MIN_POSITIVES} rows with it and {MIN_POSITIVES} without) or lower the target."
            )
        return (
            f"{self.rows:,} of {counted(self.candidates, 'unanswered row')} get"
            f" {counted(self.assignments, 'class')} in all; we"
            f" expect about {round(self.expected_wrong):,} of those classes to be wrong"
            f" (estimated precision {self.expected_precision:.1%})."
        )


@dataclass(frozen=True)
class MultiPrediction:
    run: Run
    row_ids: np.ndarray
    probabilities: np.ndarray  # (rows, classes): chance each class applies
    trained: np.ndarray

    @property
    def field(self) -> str:
        return self.run.summary["question"]

    @property
    def classes(self) -> list[str]:
        return list(self.run.summary["classes"])

    @cached_property
    def modeled(self) -> np.ndarray:
        """Per class: True where a model was fitted. A class on every answered row, or on none, has nothing
        to tell it from: its probabilities are 0, meaning "no idea", not "certainly not"."""
        n = self.run.summary["n_labeled"]
        return np.array([0 < p < n for p in self.run.summary["positives"]], dtype=bool)

    @cached_property
    def thresholds(self) -> np.ndarray:
        """Per class; NaN where the class has too few examples to promise anything."""
        return np.array([np.nan if t is None else t for t in self.run.summary["thresholds"]], dtype=float)

    @cached_property
    def chosen(self) -> np.ndarray:
        """(rows, classes) True where the class would be auto-labeled."""
        with np.errstate(invalid="ignore"):
            return (self.probabilities >= self.thresholds[None, :]) & ~self.trained[:, None]

    def promise(self, written: np.ndarray | None = None) -> MultiPromise:
        """What Accept would write; ``written`` (rows, from ``already_written``) are left out: their
        auto answer is already these classes."""
        precision = np.array([p if p is not None else np.nan for p in self.run.summary["class_precision"]])
        chosen = self.chosen if written is None else self.chosen & ~written[:, None]
        per_class = chosen.sum(axis=0)
        wrong = float(np.nansum(per_class * (1 - precision)))
        return MultiPromise(int(chosen.any(axis=1).sum()), int(per_class.sum()), wrong, int((~self.trained).sum()))

    def class_table(self, written: np.ndarray | None = None) -> list[dict[str, Any]]:
        s = self.run.summary
        chosen = self.chosen if written is None else self.chosen & ~written[:, None]
        return [
            {
                "class": c,
                "labeled rows with it": s["positives"][i],
                "threshold": None if np.isnan(self.thresholds[i]) else round(float(self.thresholds[i]), 3),
                "out-of-fold precision": s["class_precision"][i],
                "rows it will be added to": int(chosen[:, i].sum()),
            }
            for i, c in enumerate(self.classes)
        ]


def train_multilabel(
    ws: Workspace,
    dataset_id: int,
    field: str,
    *,
    target_precision: float = 0.95,
    on_progress: Progress | None = None,
) -> MultiPrediction:
    progress = on_progress or (lambda f, m: None)
    question = label_schema(ws.store, dataset_id).question(field)
    if question.kind is not Kind.MULTI:
        raise InputError(f"'{field}' is a single-choice question: use the wizard's threshold for it.")
    row_ids, vectors, answers = _rows(ws, dataset_id, field)
    classes = list(question.classes) + sorted({c for a in answers if a for c in a} - set(question.classes))
    trained = np.array([a is not None for a in answers])
    if trained.sum() < 2 * MIN_POSITIVES:
        raise InputError(f"Answer '{field}' on at least {2 * MIN_POSITIVES} rows first.")
    index = {c: i for i, c in enumerate(classes)}
    y = np.zeros((len(row_ids), len(classes)), dtype=bool)
    for r, a in enumerate(answers):
        for c in a or []:
            y[r, index[c]] = True
    x_train, y_train = vectors[trained], y[trained]
    probabilities, thresholds, precision = fit_one_vs_rest(
        x_train,
        y_train,
        vectors,
        target_precision,
        on_class=lambda j: progress(0.05 + 0.9 * j / len(classes), f"Class '{classes[j]}' ({j + 1} of {len(classes)})"),
    )
    progress(0.97, "Storing the predictions")
    run_id = new_run_id()
    run = save_run(
        ws,
        dataset_id,
        KIND,
        dataset_version=ws.store.dataset(dataset_id).version,
        settings={"labeler": "one-vs-rest", "target_precision": target_precision, "question": field},
        summary={
            "question": field,
            "multi": True,
            "classes": classes,
            "thresholds": thresholds,
            "class_precision": precision,
            "positives": [int(v) for v in y_train.sum(axis=0)],
            "target_precision": target_precision,
            "n_labeled": int(trained.sum()),
            "model_id": f"one-vs-rest-logreg:{ws.store.dataset(dataset_id).embedding_model}:{run_id}",  # one per run
        },
        arrays={"row_ids": row_ids, "probabilities": probabilities, "trained": trained},
        run_id=run_id,
    )
    progress(1.0, "Done")
    return _prediction(run)


def fit_one_vs_rest(
    x_train: np.ndarray,
    y_train: np.ndarray,
    vectors: np.ndarray,
    target_precision: float,
    *,
    on_class: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, list[float | None], list[float | None]]:
    """Per class: the chance it applies to every row of ``vectors``, its threshold and the precision
    promised at it (None, None: too few examples to promise anything). ``y_train``: (rows, classes) bool."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    probabilities = np.zeros((len(vectors), y_train.shape[1]), dtype=np.float32)
    thresholds: list[float | None] = []
    precision: list[float | None] = []
    for j in range(y_train.shape[1]):
        if on_class is not None:
            on_class(j)
        positives = int(y_train[:, j].sum())
        if positives < MIN_POSITIVES or len(y_train) - positives < MIN_POSITIVES:
            thresholds.append(None)
            precision.append(None)
            # A few examples still make a suggestion by similarity; a class on every answered row (or on none)
            # has nothing to tell it from, and suggests nothing.
            if 0 < positives < len(y_train):
                model = LogisticRegression(C=4.0, max_iter=2000).fit(x_train, y_train[:, j])
                probabilities[:, j] = model.predict_proba(vectors)[:, 1]
            continue
        # Cross-fitting: each fold's model scores its held-out rows (out of fold) and every other row;
        # the other rows get the mean of the fold models, so their scores are on the scale the
        # thresholds were chosen on (a model refitted on all rows is sharper than its folds).
        folds = StratifiedKFold(n_splits=min(5, positives), shuffle=True, random_state=0)
        oof = np.zeros(len(y_train))
        rest = np.zeros(len(vectors))
        for fit_rows, held_out in folds.split(x_train, y_train[:, j]):
            model = LogisticRegression(C=4.0, max_iter=2000).fit(x_train[fit_rows], y_train[fit_rows, j])
            oof[held_out] = model.predict_proba(x_train[held_out])[:, 1]
            rest += model.predict_proba(vectors)[:, 1] / folds.get_n_splits()
        probabilities[:, j] = rest
        t, p = _threshold(oof, y_train[:, j], target_precision)
        thresholds.append(t)
        precision.append(p)
    return probabilities, thresholds, precision


def _threshold(oof: np.ndarray, truth: np.ndarray, target: float) -> tuple[float | None, float | None]:
    """The lowest out-of-fold probability whose rows at or above it are right at least ``target`` of the
    time (with at least MIN_SUPPORT of them), and that precision; (None, None) if none is."""
    order = np.argsort(-oof, kind="stable")
    hits = np.cumsum(truth[order])
    k = np.arange(1, len(order) + 1)
    # Laplace's rule: precision (hits + 1) / (k + 2), so a lucky run of a few hits promises less.
    ok = ((hits + 1) / (k + 2) >= target) & (k >= MIN_SUPPORT)
    # Only a cut between distinct probabilities can be a threshold.
    distinct = np.append(oof[order][1:] < oof[order][:-1], True)
    ok &= distinct
    if not ok.any():
        return None, None
    i = int(np.flatnonzero(ok)[-1])
    return float(oof[order][i]), float((hits[i] + 1) / (k[i] + 2))


def _rows(ws: Workspace, dataset_id: int, field: str) -> tuple[np.ndarray, np.ndarray, list[list[str] | None]]:
    """Embedded, not excluded rows, and each one's person-given answer (None: unanswered or auto)."""
    from core.history import read_label

    row_ids, vectors = dataset_vectors(ws, dataset_id)
    states = ws.store.row_states(row_ids, field)
    keep = [i for i, r in enumerate(row_ids) if r in states and not states[r]["excluded"]]
    ids = np.asarray(row_ids, dtype=np.int64)[keep]
    answers: list[list[str] | None] = []
    with ws.store.connect() as conn:
        for r in ids.tolist():
            state = read_label(conn, r, field)
            given = state is not None and state["source"] != LabelSource.AUTO
            value = state["value"] if given else None
            answers.append(value if isinstance(value, list) else ([value] if value else None))
    return ids, vectors[keep], answers


def latest_multi_prediction(ws: Workspace, dataset_id: int, field: str) -> MultiPrediction | None:
    run = latest_run(ws, dataset_id, KIND, question=field)
    return _prediction(run) if run is not None and run.summary.get("multi") else None


def _prediction(run: Run) -> MultiPrediction:
    a = run.arrays()
    return MultiPrediction(run, a["row_ids"], a["probabilities"], a["trained"])


def accept_multilabel(ws: Workspace, dataset_id: int, prediction: MultiPrediction) -> BulkResult:
    """Unanswered rows get the classes above their thresholds as auto labels; the others get the classes
    at or above 50% as a suggestion. One undoable batch; rows a person answered since are left alone."""
    field, classes = prediction.field, prediction.classes
    states = ws.store.row_states(prediction.row_ids.tolist(), field)
    model_id = prediction.run.summary["model_id"]
    labels: dict[int, tuple[list[str], float]] = {}
    suggestions: dict[int, tuple[list[str], float]] = {}
    for i, row_id in enumerate(prediction.row_ids.tolist()):
        state = states.get(row_id)
        if prediction.trained[i] or state is None or state["excluded"]:
            continue
        if state["label"] is not None and state["label_source"] != LabelSource.AUTO:
            continue
        chosen = np.flatnonzero(prediction.chosen[i])
        if len(chosen):
            labels[row_id] = ([classes[j] for j in chosen], round(float(prediction.probabilities[i, chosen].min()), 4))
            continue
        likely = np.flatnonzero(prediction.probabilities[i] >= SUGGEST_AT)
        if len(likely) and state["label"] is None:
            suggestions[row_id] = (
                [classes[j] for j in likely],
                round(float(prediction.probabilities[i, likely].min()), 4),
            )
    if not labels and not suggestions:
        raise InputError("Nothing to auto-label: no class is confident enough on any unanswered row.")
    with ws.batch(
        dataset_id,
        action="auto_label",
        description=f"'{field}': auto-label {counted(len(labels), 'row')} (one-vs-rest thresholds);"
        f" {counted(len(suggestions), 'suggestion')}",
    ) as batch:
        changed = batch.set_predictions(labels, model_id=model_id, as_suggestion=False, field=field)
        changed += batch.set_predictions(suggestions, model_id=model_id, as_suggestion=True, field=field)
    return BulkResult(batch.id if changed else None, changed, len(labels) + len(suggestions))


def already_written(ws: Workspace, prediction: MultiPrediction) -> np.ndarray:
    """Per row of the prediction: True where the row's auto answer is already the classes Accept would
    give it (an earlier Accept of this run), so Accepting again would change nothing there."""
    states = ws.store.row_states(prediction.row_ids.tolist(), prediction.field)
    classes = np.asarray(prediction.classes, dtype=object)
    out = np.zeros(len(prediction.row_ids), dtype=bool)
    for i, row_id in enumerate(prediction.row_ids.tolist()):
        state = states.get(row_id)
        if state is None or state["label"] is None or state["label_source"] != LabelSource.AUTO:
            continue
        out[i] = stored_value(state["label"]) == sorted(classes[prediction.chosen[i]].tolist())
    return out


def multi_review_queue(ws: Workspace, prediction: MultiPrediction, *, n: int = 20) -> list[int]:
    """The ``n`` unanswered rows whose class decisions are least sure: the largest expected number of
    wrong yes / no calls at 50% (the sum over classes of min(p, 1 - p))."""
    from core.review import still_to_review

    doubt = np.minimum(prediction.probabilities, 1 - prediction.probabilities).sum(axis=1)
    doubt[prediction.trained] = -1
    order = [int(prediction.row_ids[i]) for i in np.argsort(-doubt, kind="stable") if doubt[i] >= 0]
    queue: list[int] = []
    for start in range(0, len(order), 4 * n):  # most of the first rows are open: few reads
        queue += still_to_review(ws, order[start : start + 4 * n], field=prediction.field)
        if len(queue) >= n:
            break
    return queue[:n]


def suggested_classes(prediction: MultiPrediction, row_id: int) -> list[tuple[str, float | None, bool]]:
    """(class, probability, proposed) for one row, most probable first: proposed at 50% or more, the
    model's best guess for a person to correct (the thresholds are for writing without a look). A class
    with no model (see :attr:`MultiPrediction.modeled`) comes last with probability None, never proposed."""
    i = int(np.flatnonzero(prediction.row_ids == row_id)[0])
    p = prediction.probabilities[i]
    modeled = prediction.modeled
    order = np.argsort(-p, kind="stable")
    return [(prediction.classes[j], float(p[j]), bool(p[j] >= SUGGEST_AT)) for j in order if modeled[j]] + [
        (prediction.classes[j], None, False) for j in range(len(prediction.classes)) if not modeled[j]
    ]
