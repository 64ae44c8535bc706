"""Checks over the embedding space: outliers (far from every other row) and near-duplicates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from core.issues.base import IssueData, IssueDetector, Progress, register_detector


@register_detector
class Outliers(IssueDetector):
    """Mean cosine distance to the ``k`` nearest rows, as cleanlab's Datalab measures it.

    Score ``exp(-d / median d)`` (a typical row gets 0.37); flagged above ``Q3 + fence × IQR`` of
    all rows' distances. cleanlab's default fence, 1.7, flagged none of six planted code /
    lorem-ipsum / German rows among 3,000 AG News or tweet rows (MiniLM's kNN distances are
    compressed: those rows sat at the 99-99.9th percentile); 1.0 flags them and about 1% of rows.
    """

    issue_name = "outlier"
    title = "Outliers"
    description = "Rows far from every other row in embedding space: unusual, off-topic or broken."
    needs = ("X",)
    order = 20

    def __init__(self, *, k: int = 10, fence: float = 1.0):
        self.k = k
        self.fence = fence

    def _fit(self, data: IssueData, progress: Progress):
        _, sims = data.neighbors(self.k, progress)
        distance = np.clip(1.0 - sims.astype(np.float64), 0.0, 2.0).mean(axis=1)
        median = max(float(np.median(distance)), 1e-12)
        q1, q3 = np.percentile(distance, [25, 75])
        cutoff = float(q3 + self.fence * (q3 - q1))
        details = {"neighbor_distance": distance}
        summary = {"k": self.k, "fence": self.fence, "cutoff": cutoff, "median_distance": median}
        return np.exp(-distance / median), distance > cutoff, details, summary

    @classmethod
    def explain(cls, row: dict[str, Any], summary: dict[str, Any], class_names: Sequence[str]) -> str:
        d, k = row["neighbor_distance"], summary["k"]
        return (
            f"Its {k} nearest rows are on average {d:.2f} away in cosine distance; a typical row's are"
            f" {summary['median_distance']:.2f}, and above {summary['cutoff']:.2f} counts as an outlier."
        )

    @classmethod
    def measure(cls, summary: dict[str, Any]) -> tuple[str, str, float | None] | None:
        # The rule's distance, higher = more outlying; the score exp(-d / median d) runs the other way.
        axis = f"mean cosine distance to the {summary.get('k', 10)} nearest rows (higher = more outlying)"
        return "neighbor_distance", axis, summary.get("cutoff")

    @classmethod
    def rule(cls, summary: dict[str, Any]) -> str:
        return (
            f"Mean cosine distance to the {summary.get('k', 10)} nearest rows above"
            f" {summary.get('cutoff', float('nan')):.2f}"
            f" (Q3 + {summary.get('fence', 1.0):g} × IQR of all rows' distances)."
        )


@register_detector
class NearDuplicates(IssueDetector):
    """Rows whose nearest other row has cosine similarity ≥ ``threshold`` (exact copies included)."""

    issue_name = "near_duplicate"
    title = "Near-duplicates"
    description = "Rows (almost) the same as another row: they inflate counts and leak between splits."
    needs = ("X",)
    order = 30

    def __init__(self, *, threshold: float = 0.95):
        self.threshold = threshold

    def _fit(self, data: IssueData, progress: Progress):
        index, sims = data.neighbors(1, progress)
        similarity = np.clip(sims[:, 0].astype(np.float64), -1.0, 1.0)
        details = {"partner": data.row_ids[index[:, 0]], "partner_similarity": similarity}
        n_pairs = int(similarity.__ge__(self.threshold).sum())
        summary = {"threshold": self.threshold, "rows_with_partner": n_pairs}
        return np.clip(1.0 - similarity, 0.0, 1.0), similarity >= self.threshold, details, summary

    @classmethod
    def explain(cls, row: dict[str, Any], summary: dict[str, Any], class_names: Sequence[str]) -> str:
        return (
            f"Row {row['partner_source_id']} has cosine similarity {row['partner_similarity']:.3f} with it"
            f" (≥ {summary['threshold']:.2f} counts as a near-duplicate)."
        )

    @classmethod
    def measure(cls, summary: dict[str, Any]) -> tuple[str, str, float | None] | None:
        # The rule's similarity, higher = more alike; the score 1 - similarity runs the other way.
        axis = "cosine similarity to the nearest other row (higher = closer to a duplicate)"
        return "partner_similarity", axis, summary.get("threshold")

    @classmethod
    def rule(cls, summary: dict[str, Any]) -> str:
        return f"Cosine similarity ≥ {summary.get('threshold', 0.95):.2f} to the nearest other row."
