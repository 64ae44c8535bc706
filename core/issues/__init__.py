"""Label-issue analytics: one registered detector per issue type, runs stored and reloaded.

Detectors (``DETECTORS``, in the order the page shows them): label issues by confident learning,
outliers and near-duplicates in embedding space, exact and conflicting duplicates, class
imbalance, and empty / too short / non-text rows. ``find_issues`` runs them over a dataset and
stores an ``IssueReport``; ``fix_rows`` applies Clean Top K fixes as one undoable batch.
"""

from core.issues import duplicates, label, multilabel, neighbors, quality  # noqa: F401  (registration order)
from core.issues.base import DETECTORS, IssueData, IssueDetector, create_detector, register_detector
from core.issues.fixes import FIX_TITLES, FIX_VERBS, MIN_AUTO_FIX_PROBABILITY, Fix, default_fix, fix_choices, fix_rows
from core.issues.label import confident_thresholds, find_label_issues, label_quality_scores, out_of_fold_proba
from core.issues.report import (
    IssueReport,
    compare_reports,
    find_issues,
    issue_data,
    latest_report,
    previous_report,
)

__all__ = [
    "DETECTORS",
    "FIX_TITLES",
    "FIX_VERBS",
    "MIN_AUTO_FIX_PROBABILITY",
    "Fix",
    "IssueData",
    "IssueDetector",
    "IssueReport",
    "compare_reports",
    "confident_thresholds",
    "create_detector",
    "default_fix",
    "fix_choices",
    "find_issues",
    "find_label_issues",
    "fix_rows",
    "issue_data",
    "label_quality_scores",
    "latest_report",
    "out_of_fold_proba",
    "previous_report",
    "register_detector",
]
