"""Label issues of a multi-choice question: a class a row has that the model finds unlikely, or one it
lacks that the model is sure of.

Each class is a yes / no question: five-fold out-of-fold probabilities from logistic regression on the
embeddings (cross-fitted as in core/multilabel.py). A row's score is the lowest probability the model
gives any of its yes / no answers (cleanlab's multi-label rule: the worst class decides). It is flagged
where, for some class, the model's probability of the other answer reaches what rows with that other
answer usually get (confident learning per class, its per-class threshold = the mean out-of-fold
probability among rows on that side).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from core.issues.base import IssueData, IssueDetector, Progress, register_detector

MIN_SIDE = 5  # rows with a class, and without it, before its yes / no answers are checked


@register_detector
class LabelSetIssues(IssueDetector):
    issue_name = "label_set"
    title = "Label-set issues"
    description = "Rows of a multi-choice question with a class the model finds unlikely, or missing a likely one."
    needs = ("X", "label_sets", "answered")
    order = 11

    def __init__(self, *, n_folds: int = 5, C: float = 4.0, seed: int = 0):
        self.n_folds = n_folds
        self.C = C
        self.seed = seed

    def applies_to(self, data: IssueData) -> bool:
        return super().applies_to(data) and int(data.answered.sum()) >= 2 * MIN_SIDE

    def _fit(self, data: IssueData, progress: Progress):
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold

        n, k = data.label_sets.shape
        rows = np.flatnonzero(data.answered)
        y = data.label_sets[rows]
        x = data.X[rows]
        oof = np.full((len(rows), k), np.nan)
        for j in range(k):
            progress(j / k, f"Cross-validating class '{data.class_names[j]}' ({j + 1} of {k})")
            positives = int(y[:, j].sum())
            if min(positives, len(rows) - positives) < MIN_SIDE:
                continue
            folds = StratifiedKFold(
                min(self.n_folds, positives, len(rows) - positives), shuffle=True, random_state=self.seed
            )
            for fit_rows, held_out in folds.split(x, y[:, j]):
                model = LogisticRegression(C=self.C, max_iter=2000).fit(x[fit_rows], y[fit_rows, j])
                oof[held_out, j] = model.predict_proba(x[held_out])[:, 1]
        # Probability of each given yes / no answer, and confident-learning thresholds per class and side.
        p_given = np.where(y, oof, 1 - oof)
        with np.errstate(invalid="ignore"):
            yes_mean = np.array([np.nanmean(oof[y[:, j], j]) if y[:, j].any() else np.nan for j in range(k)])
            no_mean = np.array([np.nanmean(1 - oof[~y[:, j], j]) if (~y[:, j]).any() else np.nan for j in range(k)])
            # Flag: given yes but P(no) reaches the usual P(no) of "no" rows, or the other way round.
            flag = np.where(y, (1 - oof) >= no_mean[None, :], oof >= yes_mean[None, :]) & np.isfinite(oof)
        checked = np.isfinite(p_given).any(axis=1)
        worst = np.where(checked, np.nanargmin(np.where(np.isfinite(p_given), p_given, np.inf), axis=1), -1)
        scores = np.full(n, np.nan)
        scores[rows[checked]] = np.nanmin(p_given[checked], axis=1)
        is_issue = np.zeros(n, bool)
        is_issue[rows] = flag.any(axis=1) & ~data.reviewed[rows]
        worst_class = np.full(n, -1, np.int64)
        worst_class[rows] = worst
        has_it = np.zeros(n, bool)
        has_it[rows[checked]] = y[checked, worst[checked]]
        worst_p = np.full(n, np.nan)
        worst_p[rows[checked]] = oof[checked, worst[checked]]
        details = {"worst_class": worst_class, "has_worst_class": has_it, "worst_class_probability": worst_p}
        summary = {
            "n_answered": len(rows),
            "classes_checked": [data.class_names[j] for j in range(k) if np.isfinite(oof[:, j]).any()],
        }
        return scores, is_issue, details, summary

    @classmethod
    def explain(cls, row: dict[str, Any], summary: dict[str, Any], class_names: Sequence[str]) -> str:
        j = row.get("worst_class", -1)
        if j is None or j < 0:
            return "Not checked: the row has no answer, or its classes have too few examples."
        name, p = class_names[j], row.get("worst_class_probability")
        if row.get("has_worst_class"):
            return f"The row has '{name}', but the model, trained without this row, gives it {p:.0%}."
        return f"The row lacks '{name}', but the model, trained without this row, gives it {p:.0%}."

    @classmethod
    def rule(cls, summary: dict[str, Any]) -> str:
        return (
            "Per class, a model that never saw the row is as sure of the other answer (has / lacks the class)"
            " as it usually is for rows that do give that answer (confident learning, one class at a time)."
        )

    @classmethod
    def checked_rows(cls, summary: dict[str, Any]) -> tuple[int, str] | None:
        return (int(summary["n_answered"]), "answered rows") if "n_answered" in summary else None
