"""Label issues by confident learning (Northcutt, Jiang and Chuang, JAIR 2021).

Out-of-fold probabilities come from K-fold cross-validation of a logistic regression on the
stored embeddings and, for text, on a TF-IDF view; the view (or their average) with the best
out-of-fold accuracy is used. A row's label-quality score is its self-confidence (the probability
given to its own label) or the normalised margin. ``is_label_issue`` follows confident learning:
per-class thresholds are the mean self-confidence of each class, a row is counted under the
class it is confidently in, and the off-diagonal rows of that confident joint are flagged unless
the model's own top choice is the given label.

Written here rather than imported because cleanlab is AGPL-3.0, which many companies will not
deploy; tests/test_issues.py checks that the scores and flags match cleanlab 2.9 exactly.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from core.errors import InputError
from core.issues.base import IssueData, IssueDetector, Progress, register_detector

METHODS = ("self_confidence", "normalized_margin")
# Same tolerances as cleanlab (internal/constants.py), so the flags agree to the row.
_THRESHOLD_SLACK = 1e-6
_THRESHOLD_FLOOR = 2e-6
# Below either, the label check's flags are mostly the model's mistakes, not the labels': on the CIFAR
# demo (76 labels in 10 classes, 7.6 per class, 57% accurate out of fold) all 21 flags were right labels
# and every suggestion was under 40%; on the AG News demo (425 labels in 4 classes, 89%) they hold up.
# Accuracy is measured from chance (1/K) up: 80% is strong with 10 classes and weak with 2. With MiniLM,
# binary sentiment sits at 0.56-0.61 of the way (rt_polarity 80.5%, SST-2 79.4%, sentiment140 8k 78.0%),
# where a reader judged 5 of rt_polarity's top 14 flags right labels; topics at 0.85-0.86 (AG News 10k 89.3%,
# the demo 89%). 0.70 lies between: 85% with 2 classes, 77.5% with 4, 73% with 10 (docs/decisions.md).
MIN_LABELED_PER_CLASS = 10
MIN_ACCURACY_ABOVE_CHANCE = 0.70


def above_chance(accuracy: float, n_classes: int) -> float:
    """How far ``accuracy`` lies from guessing (1 / ``n_classes``, 0) to perfect (1): Cohen's kappa
    against a uniform guess. 80% is 0.60 with two classes and 0.73 with four."""
    chance = 1 / max(n_classes, 2)
    return (accuracy - chance) / (1 - chance)


def label_quality_scores(labels: np.ndarray, pred_probs: np.ndarray, *, method: str = "self_confidence") -> np.ndarray:
    """Per-row label quality in [0, 1] (lower = more likely mislabeled), as cleanlab defines it."""
    labels = np.asarray(labels)
    self_confidence = pred_probs[np.arange(len(labels)), labels]
    if method == "self_confidence":
        return self_confidence
    if method == "normalized_margin":
        others = pred_probs.copy()
        others[np.arange(len(labels)), labels] = -np.inf
        return (self_confidence - others.max(axis=1) + 1) / 2
    raise InputError(f"Unknown label-quality method '{method}'; choose one of {', '.join(METHODS)}.")


def confident_thresholds(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """Per class, the mean probability of that class over the rows labeled with it (2 if none)."""
    k = pred_probs.shape[1]
    means = [pred_probs[labels == j, j].mean() if (labels == j).any() else 2.0 for j in range(k)]
    return np.clip(np.asarray(means), _THRESHOLD_FLOOR, None)


def confident_class(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """The class each row is confidently in (-1 if none): the one class whose probability reaches
    its threshold, or with several the most probable class overall (as cleanlab counts them)."""
    confident = pred_probs >= confident_thresholds(np.asarray(labels), pred_probs) - _THRESHOLD_SLACK
    n_confident = confident.sum(axis=1)
    guess = np.where(n_confident > 1, pred_probs.argmax(axis=1), confident.argmax(axis=1))
    return np.where(n_confident > 0, guess, -1)


def find_label_issues(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """Confident learning's off-diagonal rows, minus rows whose top prediction is their label."""
    labels = np.asarray(labels)
    guess = confident_class(labels, pred_probs)
    off_diagonal = (guess >= 0) & (guess != labels)
    nudged = pred_probs.copy()
    nudged[np.arange(len(labels)), labels] += _THRESHOLD_SLACK
    return off_diagonal & (nudged.argmax(axis=1) != labels)


def suggestion_of(
    most_probable: np.ndarray,
    most_probable_confidence: np.ndarray,
    is_issue: np.ndarray,
    confident: np.ndarray,
    confident_probability: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's suggested class and its probability: for a flagged row, the class confident learning
    counts it as (what its explanation names and why it was flagged), else the most probable class.

    The two differ when one class reaches what its rows usually get while a class its rows usually get
    more of is a little more probable: a CIFAR row given 'frog' had 'airplane' 15% and 'cat' 13%, where
    'cat' rows usually get 12% and 'airplane' rows far more, so the row was flagged as a 'cat' and the
    suggestion must say 'cat', not 'airplane'."""
    take = np.asarray(is_issue, bool) & (np.asarray(confident) >= 0)
    return (
        np.where(take, confident, most_probable).astype(np.int64),
        np.where(take, confident_probability, most_probable_confidence).astype(np.float64),
    )


TOO_FEW_LABELS = "Finding label issues needs at least 10 labeled rows in two or more classes."


def too_few_labels(labels: np.ndarray) -> bool:
    """Too few labels for out-of-fold probabilities: under 10, one class, or no class with two rows."""
    y = labels[labels >= 0]
    counts = np.bincount(y) if len(y) else np.zeros(1, int)
    return len(y) < 10 or (counts > 0).sum() < 2 or counts.max() < 2


def out_of_fold_proba(
    data: IssueData, *, n_folds: int = 5, C: float = 4.0, seed: int = 0, progress: Progress | None = None
) -> dict[str, np.ndarray]:
    """Out-of-fold class probabilities of the labeled rows, per view.

    Returns ``{"embedding": P, "lexical": P}`` (lexical for text only), each (n_labeled, n_classes)
    in the order of ``data.labels >= 0``. A class missing from a training fold gets probability 0.
    """
    labeled = np.flatnonzero(data.labels >= 0)
    y = data.labels[labeled]
    k = len(data.class_names)
    counts = np.bincount(y, minlength=k)
    folds = min(n_folds, int(counts[counts > 0].max()))
    if too_few_labels(data.labels):
        raise InputError(TOO_FEW_LABELS)
    views: dict[str, Any] = {"embedding": data.X[labeled]}
    if data.texts is not None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2, ngram_range=(1, 2), dtype=np.float32)
        with contextlib.suppress(ValueError):  # every text empty or stop words only: no lexical view
            views["lexical"] = vectorizer.fit_transform([data.texts[i] for i in labeled]).tocsr()
    out = {name: np.zeros((len(labeled), k)) for name in views}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a class with fewer rows than folds: still usable
        splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
    steps, done = len(splits) * len(views), 0
    for name, features in views.items():
        # TF-IDF columns are far sparser than embedding dimensions: a weaker penalty suits them.
        strength = C * 4 if sparse.issparse(features) else C
        for train, test in splits:
            model = LogisticRegression(C=strength, max_iter=1000)
            model.fit(features[train], y[train])
            out[name][np.ix_(test, model.classes_)] = model.predict_proba(features[test])
            done += 1
            if progress:
                progress(done / steps, f"Cross-validating the {name} view: fold {done} of {steps}")
    return out


def choose_view(probas: dict[str, np.ndarray], y: np.ndarray) -> tuple[str, np.ndarray, dict[str, float]]:
    """The view (or the average of all views) with the best out-of-fold accuracy.

    Ties go to the average, which is the better-calibrated of equals."""
    candidates = dict(probas)
    if len(probas) > 1:
        candidates[" + ".join(probas)] = np.mean(list(probas.values()), axis=0)
    accuracy = {name: float((p.argmax(axis=1) == y).mean()) for name, p in candidates.items()}
    best = max(candidates, key=lambda name: (round(accuracy[name], 6), "+" in name))
    return best, candidates[best], accuracy


def unreliable_because(summary: dict[str, Any]) -> str | None:
    """Why the label check's flags cannot be trusted (None when they can), with its numbers.

    The rule: fewer than ``MIN_LABELED_PER_CLASS`` labeled rows per class on average, or an out-of-fold
    accuracy less than ``MIN_ACCURACY_ABOVE_CHANCE`` of the way from chance to perfect (:func:`above_chance`).
    Either way the model is often wrong where the label is right, so its flags and suggestions need a
    person, not Auto-fix."""
    n_labeled = int(summary.get("n_labeled", 0))
    n_classes = int(summary.get("n_classes", len(summary.get("thresholds", {})))) or 1
    accuracy = summary.get("view_accuracy", {}).get(summary.get("view", ""))
    reasons = []
    if n_labeled / n_classes < MIN_LABELED_PER_CLASS:
        reasons.append(
            f"only {n_labeled:,} labeled rows for {n_classes:,} classes ({n_labeled / n_classes:.1f} per class;"
            f" under {MIN_LABELED_PER_CLASS} is too few to learn a class from)"
        )
    if accuracy is not None and above_chance(accuracy, n_classes) < MIN_ACCURACY_ABOVE_CHANCE:
        chance = 1 / max(n_classes, 2)
        needed = chance + MIN_ACCURACY_ABOVE_CHANCE * (1 - chance)
        reasons.append(
            f"the check's model gets only {accuracy:.1%} of the labeled rows right out of fold, where"
            f" {n_classes:,} classes need {needed:.1%} (chance is {chance:.0%}), so many flags are its own"
            " mistakes"
        )
    return " and ".join(reasons) or None


def _top_levels(class_names: Sequence[str]) -> np.ndarray | None:
    """Each class's top-level parent when the classes form a hierarchy ("A > b"), else None."""
    from core.labelschema import SEPARATOR

    if not any(SEPARATOR in c for c in class_names):
        return None
    return np.array([c.split(SEPARATOR)[0] for c in class_names])


@register_detector
class LabelIssues(IssueDetector):
    issue_name = "label"
    title = "Label issues"
    description = "Rows whose given label the model, trained without them, finds unlikely."
    needs = ("X", "labels")
    order = 10

    def applies_to(self, data: IssueData) -> bool:
        """No label at all (an unlabeled dataset, a multi-choice question): nothing to check."""
        return super().applies_to(data) and bool((data.labels >= 0).any()) and not self.not_enough(data)

    def not_enough(self, data: IssueData) -> str:
        if data.labels is None or not (data.labels >= 0).any() or not too_few_labels(data.labels):
            return ""
        y = data.labels[data.labels >= 0]
        n, k = len(y), len(np.unique(y))
        rows, classes = f"{n:,} labeled {'row' if n == 1 else 'rows'}", f"{k} {'class' if k == 1 else 'classes'}"
        return f"{TOO_FEW_LABELS[:-1]}; this question has {rows} embedded, in {classes}."

    def __init__(self, *, method: str = "self_confidence", n_folds: int = 5, C: float = 4.0, seed: int = 0):
        self.method = method
        self.n_folds = n_folds
        self.C = C
        self.seed = seed

    def _fit(self, data: IssueData, progress: Progress):
        if self.method not in METHODS:
            raise InputError(f"Unknown label-quality method '{self.method}'; choose one of {', '.join(METHODS)}.")
        n, k = data.n_rows, len(data.class_names)
        labeled = np.flatnonzero(data.labels >= 0)
        y = data.labels[labeled]
        probas = out_of_fold_proba(data, n_folds=self.n_folds, C=self.C, seed=self.seed, progress=progress)
        view, pred_probs, accuracy = choose_view(probas, y)

        scores = np.full(n, np.nan)
        scores[labeled] = label_quality_scores(y, pred_probs, method=self.method)
        top = _top_levels(data.class_names)
        if top is not None:
            # Hierarchical classes ("Sports > Golf"): average in the probability of the given label's
            # top-level parent, so a label wrong at the top ranks before a merely uncertain sub-class.
            parent = (top[:, None] == top[None, :]).astype(pred_probs.dtype)  # same parent, class x class
            scores[labeled] = (scores[labeled] + (pred_probs @ parent)[np.arange(len(y)), y]) / 2
        is_issue = np.zeros(n, bool)
        is_issue[labeled] = find_label_issues(y, pred_probs) & ~data.reviewed[labeled]
        full = np.full((n, k), np.nan, np.float32)
        full[labeled] = pred_probs
        most_probable = np.full(n, -1, np.int64)
        most_probable[labeled] = pred_probs.argmax(axis=1)
        confident = np.full(n, -1, np.int64)
        confident[labeled] = confident_class(y, pred_probs)
        rows = np.arange(n)
        most_probable_confidence = np.where(
            most_probable >= 0, np.nanmax(np.nan_to_num(full, nan=0), axis=1), np.nan
        ).astype(np.float64)
        confident_probability = np.where(
            confident >= 0, full[rows, np.maximum(confident, 0)].astype(np.float64), np.nan
        )
        suggested, suggested_confidence = suggestion_of(
            most_probable, most_probable_confidence, is_issue, confident, confident_probability
        )
        details = {
            "pred_probs": full,
            "suggested": suggested,
            "suggested_confidence": suggested_confidence,
            "most_probable": most_probable,
            "most_probable_confidence": most_probable_confidence,
            "confident_class": confident,
            "confident_probability": confident_probability,
            "given_confidence": np.where(
                most_probable >= 0, full[rows, np.maximum(data.labels, 0)].astype(np.float64), np.nan
            ),
        }
        thresholds = confident_thresholds(y, pred_probs)
        summary = {
            "method": self.method,
            "view": view,
            "view_accuracy": accuracy,
            "n_labeled": len(labeled),
            "n_classes": int((np.bincount(y, minlength=k) > 0).sum()),  # classes with a labeled row
            "reviewed_not_flagged": int((find_label_issues(y, pred_probs) & data.reviewed[labeled]).sum()),
            "thresholds": {data.class_names[j]: float(t) for j, t in enumerate(thresholds) if t <= 1},
            "hierarchical": top is not None,
        }
        return scores, is_issue, details, summary

    @classmethod
    def explain(cls, row: dict[str, Any], summary: dict[str, Any], class_names: Sequence[str]) -> str:
        """Why the row is (or is not) flagged, naming the class it suggests (:func:`suggestion_of`)."""
        given = row.get("given")
        # Runs stored before the most probable class was kept apart stored it as the suggestion.
        most = row.get("most_probable", row.get("suggested", -1))
        if given is None or given < 0 or most is None or most < 0:
            return "Not checked: the row has no label."
        name, top = class_names[given], class_names[most]
        p_given = row["given_confidence"]
        p_top = row.get("most_probable_confidence", row.get("suggested_confidence"))
        if most == given:
            return f"The model agrees with the label '{name}' ({p_given:.0%})."
        confident = row.get("confident_class", -1)
        p_other = row.get("confident_probability")
        if not row.get("is_label_issue") or confident is None or confident < 0 or p_other is None:
            return (
                f"The model, trained without this row, gives its label '{name}' {p_given:.0%} and '{top}' {p_top:.0%}."
            )
        thresholds = summary.get("thresholds", {})
        other = class_names[confident]
        threshold = thresholds.get(other)
        if threshold is not None and p_other >= threshold - _THRESHOLD_SLACK:
            why = (
                f"'{other}' at {p_other:.0%} reaches what '{other}' rows usually get ({threshold:.0%}),"
                f" so confident learning counts it as '{other}'"
            )
            if confident != most:  # the only class at its usual level is not the most probable one
                usual = thresholds.get(top)
                below = f" ({usual:.0%})" if usual is not None else ""
                why += (
                    f". '{top}' is more probable ({p_top:.0%}) but below what '{top}' rows usually get{below},"
                    " so it is not suggested"
                )
        else:  # several classes reach their usual level: the most probable one counts
            why = (
                "several classes reach what their rows usually get, so confident learning counts it as the"
                f" most probable one, '{other}' ({p_other:.0%})"
            )
        return (
            f"The model, trained without this row, gives its label '{name}' {p_given:.0%}"
            f" and '{other}' {p_other:.0%}; {why}."
        )

    @classmethod
    def checked_rows(cls, summary: dict[str, Any]) -> tuple[int, str] | None:
        return (int(summary["n_labeled"]), "labeled rows") if "n_labeled" in summary else None

    @classmethod
    def rule(cls, summary: dict[str, Any]) -> str:
        view = summary.get("view", "embedding")
        acc = summary.get("view_accuracy", {}).get(view)
        measured = f", {acc:.0%} accurate out of fold" if acc is not None else ""
        return (
            f"A model that never saw the row's label ({view}{measured}) is confident it is another class"
            " (confident learning). Rows a person reviewed are not flagged again."
            + (
                " Hierarchical classes: the score also weighs the top-level parent, so a label wrong at the top"
                " ranks first."
                if summary.get("hierarchical")
                else ""
            )
        )
