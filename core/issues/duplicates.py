"""Checks over exact content: duplicates, and duplicates that disagree on the label."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.issues.base import IssueData, IssueDetector, Progress, register_detector


def duplicate_groups(keys: Sequence[str]) -> np.ndarray:
    """Group id per row for content seen more than once, -1 for unique content."""
    codes, _ = pd.factorize(np.asarray(keys, dtype=object))
    counts = np.bincount(codes)
    return np.where(counts[codes] > 1, codes, -1)


@register_detector
class ExactDuplicates(IssueDetector):
    issue_name = "exact_duplicate"
    title = "Exact duplicates"
    description = "Rows whose content (text after cleaning, or image bytes) is identical to another row's."
    needs = ("content_keys",)
    order = 40

    def _fit(self, data: IssueData, progress: Progress):
        group = duplicate_groups(data.content_keys)
        counts = np.bincount(group[group >= 0], minlength=int(group.max(initial=-1)) + 1)
        size = np.where(group >= 0, counts[np.maximum(group, 0)] if len(counts) else 1, 1)
        is_issue = group >= 0
        # The first row of each group is the "original"; the others are the extra copies.
        first = np.zeros(len(group), bool)
        _, first_index = np.unique(np.where(is_issue, group, -1 - np.arange(len(group))), return_index=True)
        first[first_index] = True
        summary = {"groups": int(len(np.unique(group[is_issue]))), "extra_copies": int((is_issue & ~first).sum())}
        details = {"duplicate_group": group, "copies": size, "first_copy": first & is_issue}
        return np.where(is_issue, 0.0, 1.0), is_issue, details, summary

    @classmethod
    def explain(cls, row: dict[str, Any], summary: dict[str, Any], class_names: Sequence[str]) -> str:
        copies = int(row["copies"])
        which = "the first of them" if row.get("first_copy") else "a repeat"
        return f"The same content appears {copies} times in the dataset; this row is {which}."

    @classmethod
    def rule(cls, summary: dict[str, Any]) -> str:
        return "Identical content (same hash of the cleaned text or of the image file)."


@register_detector
class ConflictingDuplicates(IssueDetector):
    issue_name = "conflicting_duplicate"
    title = "Conflicting duplicates"
    description = "The same content labeled differently in different rows: at least one label is wrong."
    needs = ("content_keys", "labels")
    order = 50

    def _fit(self, data: IssueData, progress: Progress):
        group = duplicate_groups(data.content_keys)
        frame = pd.DataFrame({"group": group, "label": data.labels})
        labeled = frame[(frame.group >= 0) & (frame.label >= 0)]
        n_labels = labeled.groupby("group")["label"].nunique()
        conflicting = n_labels[n_labels > 1].index.to_numpy()
        is_issue = np.isin(group, conflicting) & (group >= 0)
        labels_in_group = {
            g: ", ".join(f"{data.class_names[c]} ×{n}" for c, n in sorted(part.label.value_counts().items()))
            for g, part in labeled[labeled.group.isin(conflicting)].groupby("group")
        }
        details = {
            "duplicate_group": group,
            "group_labels": np.array([labels_in_group.get(g, "") for g in group], dtype=object),
        }
        summary = {"groups": len(conflicting)}
        return np.where(is_issue, 0.0, 1.0), is_issue, details, summary

    @classmethod
    def explain(cls, row: dict[str, Any], summary: dict[str, Any], class_names: Sequence[str]) -> str:
        return f"Identical content carries different labels: {row['group_labels']}."

    @classmethod
    def rule(cls, summary: dict[str, Any]) -> str:
        return "Identical content whose labeled copies disagree."
