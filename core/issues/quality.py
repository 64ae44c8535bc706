"""Checks that need no model: class imbalance, and text rows that are empty, too short or not text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from core.issues.base import IssueData, IssueDetector, Progress, register_detector

_WORD = re.compile(r"[^\W\d_]{2,}")  # two or more letters, in any script
_NOISE = re.compile(r"https?://\S+|www\.\S+|@\w+|#\w+")  # links, mentions and hashtags carry no wording
TEXT_PROBLEMS = {1: "empty", 2: "not text", 3: "too short"}


@register_detector
class ClassImbalance(IssueDetector):
    """Rows of a class holding less than ``threshold`` of an even share (cleanlab's rule, which
    flags only the rarest class; here every class under the line is flagged)."""

    issue_name = "class_imbalance"
    title = "Class imbalance"
    description = "Rows of a class so rare that models will tend to ignore it: label more of it."
    needs = ("labels",)
    order = 60

    def __init__(self, *, threshold: float = 0.1):
        self.threshold = threshold

    def _fit(self, data: IssueData, progress: Progress):
        k = len(data.class_names)
        labeled = data.labels >= 0
        counts = np.bincount(data.labels[labeled], minlength=k)
        share = counts / max(counts.sum(), 1)
        line = self.threshold / max(k, 1)
        rare = (share < line) & (counts > 0)
        row_share = np.where(labeled, share[np.maximum(data.labels, 0)], np.nan)
        is_issue = labeled & rare[np.maximum(data.labels, 0)]
        summary = {
            "n_labeled": int(labeled.sum()),
            "line": line,
            "rare_classes": [data.class_names[j] for j in np.flatnonzero(rare)],
            "shares": {data.class_names[j]: float(share[j]) for j in range(k)},
        }
        return row_share, is_issue, {"class_share": row_share}, summary

    @classmethod
    def explain(cls, row: dict[str, Any], summary: dict[str, Any], class_names: Sequence[str]) -> str:
        return (
            f"Its class holds {row['class_share']:.1%} of the labeled rows; under {summary['line']:.1%}"
            " (a tenth of an even share) counts as rare."
        )

    @classmethod
    def checked_rows(cls, summary: dict[str, Any]) -> tuple[int, str] | None:
        return (int(summary["n_labeled"]), "labeled rows") if "n_labeled" in summary else None

    @classmethod
    def rule(cls, summary: dict[str, Any]) -> str:
        return f"A class with under {summary.get('line', 0):.1%} of the labeled rows (a tenth of an even share)."


def text_problem(text: str, *, min_words: int) -> tuple[int, float]:
    """(problem code, score): 0 fine, 1 empty, 2 not text, 3 too short; score in [0, 1]."""
    stripped = text.strip()
    if not stripped:
        return 1, 0.0
    wording = _NOISE.sub(" ", stripped)
    words = _WORD.findall(wording)
    visible = [c for c in wording if not c.isspace()]
    letters = sum(c.isalpha() for c in visible) / max(len(visible), 1)
    if not words or letters < 0.5:
        return 2, 0.25 * letters
    score = min(1.0, 0.5 + 0.5 * len(words) / (2 * min_words))
    return (3, 0.5 * len(words) / min_words) if len(words) < min_words else (0, score)


@register_detector
class TextQuality(IssueDetector):
    issue_name = "text_quality"
    title = "Empty / too short / not text"
    description = "Text rows with nothing to read: empty, fewer words than a sentence, or symbols and links only."
    needs = ("texts",)
    order = 70

    def __init__(self, *, min_words: int = 2):
        self.min_words = min_words

    def _fit(self, data: IssueData, progress: Progress):
        found = [text_problem(t, min_words=self.min_words) for t in data.texts]
        code = np.array([c for c, _ in found], np.int64)
        scores = np.array([s for _, s in found])
        summary = {"min_words": self.min_words, **{name: int((code == c).sum()) for c, name in TEXT_PROBLEMS.items()}}
        return scores, code > 0, {"text_problem": code}, summary

    @classmethod
    def explain(cls, row: dict[str, Any], summary: dict[str, Any], class_names: Sequence[str]) -> str:
        code = int(row["text_problem"])
        return {
            1: "The text is empty.",
            2: "The text is mostly symbols, numbers, links or mentions: no words to read.",
            3: f"Fewer than {summary['min_words']} words.",
        }.get(code, "The text reads as text.")

    @classmethod
    def rule(cls, summary: dict[str, Any]) -> str:
        return (
            f"Empty; or under half letters / no word after removing links and @mentions; or fewer than"
            f" {summary.get('min_words', 2)} words."
        )
