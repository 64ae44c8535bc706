"""The issue-detector contract, its registry and the data every detector reads.

One detector class per issue type (cleanlab's ``IssueManager`` shape, see STYLE.md): it sets
``issue_name``, and ``fit(data)`` leaves

- ``scores_``: (n_rows,) quality in [0, 1], **lower = more likely an issue** (cleanlab's
  convention, so scores compare with cleanlab's); NaN where the check does not apply (for example
  the label check on an unlabeled row);
- ``is_issue_``: (n_rows,) bool, the rows flagged;
- ``details_``: named per-row arrays that explain a flag (suggested class, duplicate partner...);
- ``summary_``: a small JSON-able dict (thresholds, counts) shown beside the numbers.

``explain`` turns one row's stored arrays into a plain-language sentence, so the page can say why
a row was flagged from a saved run without refitting anything.

Register a new detector with ``@register_detector``; the Issues page lists ``DETECTORS``.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np
from sklearn.base import BaseEstimator

from core.errors import InputError

UNLABELED = -1
Progress = Callable[[float, str], None]  # (fraction of this detector done, what is happening)


def _quiet(fraction: float, message: str) -> None:
    return None


@dataclass(eq=False)
class IssueData:
    """The rows a detector checks, in one order; any part may be missing (None).

    Parameters
    ----------
    row_ids
        The rows' ids in the store (only used to name duplicate partners).
    X
        (n_rows, dim) embeddings (normalised here, so a dot product is a cosine similarity).
    labels
        (n_rows,) class index of each row's current label, -1 where unlabeled.
    class_names
        What the indices in ``labels`` mean.
    texts
        The rows' texts (text datasets): the lexical view and the text-quality checks.
    content_keys
        Equal keys mean equal content (the store's content hash of the text or image bytes).
    reviewed
        (n_rows,) True where a person confirmed the label row by row: scored, never flagged again.
    label_sets
        (n_rows, n_classes) bool: the classes of each row for a multi-choice question; rows without an
        answer are all False and ``answered`` False (then ``labels`` is all -1).
    answered
        (n_rows,) True where a multi-choice question has an answer (``[]`` included).
    """

    row_ids: np.ndarray
    X: np.ndarray | None = None
    labels: np.ndarray | None = None
    class_names: Sequence[str] = ()
    texts: Sequence[str] | None = None
    content_keys: Sequence[str] | None = None
    reviewed: np.ndarray | None = None
    label_sets: np.ndarray | None = None
    answered: np.ndarray | None = None
    _cache: dict[Any, Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.row_ids = np.asarray(self.row_ids, dtype=np.int64)
        n = len(self.row_ids)
        if self.X is not None:
            X = np.asarray(self.X, dtype=np.float32)
            if X.ndim != 2 or len(X) != n:
                raise InputError(f"Got {len(X)} embeddings for {n} rows.")
            if not np.isfinite(X).all():
                raise InputError("Some row embeddings are not finite numbers; re-embed the dataset.")
            self.X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
        if self.labels is not None:
            labels = np.asarray(self.labels, dtype=np.int64)
            if labels.shape != (n,):
                raise InputError(f"Got {labels.size} labels for {n} rows.")
            if labels.min(initial=0) < UNLABELED or labels.max(initial=0) >= len(self.class_names):
                raise InputError(f"Labels must be class indices between -1 and {len(self.class_names) - 1}.")
            self.labels = labels
        self.class_names = list(self.class_names)
        for name in ("texts", "content_keys"):
            values = getattr(self, name)
            if values is not None:
                if len(values) != n:
                    raise InputError(f"Got {len(values)} {name.replace('_', ' ')} for {n} rows.")
                setattr(self, name, ["" if v is None else str(v) for v in values])
        self.reviewed = np.zeros(n, bool) if self.reviewed is None else np.asarray(self.reviewed, dtype=bool)

    @property
    def n_rows(self) -> int:
        return len(self.row_ids)

    def cached(self, key: Any, build: Callable[[], Any]) -> Any:
        """The value stored under ``key``, built by ``build()`` the first time (shared by detectors)."""
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def neighbors(self, k: int, progress: Progress = _quiet) -> tuple[np.ndarray, np.ndarray]:
        """Each row's ``k`` nearest other rows by cosine: (indices, similarities), nearest first.

        Exact brute force in blocks (a BLAS matrix product): on 10k rows it takes about a second,
        and being exact means a duplicate is never missed the way an approximate index can.
        """
        if self.X is None:
            raise InputError("This check needs the rows' embeddings.")
        k = min(k, self.n_rows - 1)

        def build() -> tuple[np.ndarray, np.ndarray]:
            X, n = self.X, self.n_rows
            index = np.zeros((n, k), np.int64)
            sims = np.zeros((n, k), np.float32)
            block = int(min(2048, max(64, 5e7 // n)))  # ~200 MB of similarities per block at most
            for start in range(0, n, block):
                stop = min(start + block, n)
                s = X[start:stop] @ X.T
                s[np.arange(stop - start), np.arange(start, stop)] = -np.inf  # not its own neighbour
                top = np.argpartition(-s, k - 1, axis=1)[:, :k]
                top_s = np.take_along_axis(s, top, axis=1)
                order = np.argsort(-top_s, axis=1)
                index[start:stop] = np.take_along_axis(top, order, axis=1)
                sims[start:stop] = np.take_along_axis(top_s, order, axis=1)
                progress(stop / n, f"Nearest neighbours: {stop:,} of {n:,} rows")
            return index, sims

        if k < 1:
            return np.zeros((self.n_rows, 0), np.int64), np.zeros((self.n_rows, 0), np.float32)
        best = max((key[1] for key in self._cache if isinstance(key, tuple) and key[0] == "knn"), default=0)
        if best >= k:  # a longer list already computed holds this one
            index, sims = self._cache[("knn", best)]
            return index[:, :k], sims[:, :k]
        return self.cached(("knn", k), build)


class IssueDetector(BaseEstimator):
    """Base class: subclasses set the class variables and implement ``_fit``."""

    issue_name: ClassVar[str]
    title: ClassVar[str]  # what the page calls it ("Label issues")
    description: ClassVar[str]  # one sentence: what is flagged and why it matters
    needs: ClassVar[tuple[str, ...]] = ()  # IssueData fields that must be present
    order: ClassVar[int] = 100  # where the page lists it (lower first)

    def applies_to(self, data: IssueData) -> bool:
        """Whether this check can run on ``data`` (an image dataset has no text checks)."""
        return all(getattr(data, name) is not None for name in self.needs)

    def not_enough(self, data: IssueData) -> str:
        """Why this check, though it has what it needs, cannot run on ``data`` (too few labels); empty
        when it can. ``find_issues`` leaves such a check out, says why, and runs the others."""
        return ""

    def fit(self, data: IssueData, progress: Progress = _quiet) -> Self:
        if not self.applies_to(data):
            if why := self.not_enough(data):
                raise InputError(why)
            missing = ", ".join(n for n in self.needs if getattr(data, n) is None)
            raise InputError(f"The {self.title.lower()} check needs the rows' {missing}.")
        scores, is_issue, details, summary = self._fit(data, progress)
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != (data.n_rows,) or np.nanmin(scores, initial=0) < 0 or np.nanmax(scores, initial=1) > 1:
            raise AssertionError(f"{self.issue_name} scores must be (n_rows,) values in [0, 1]")
        self.scores_ = scores
        self.is_issue_ = np.asarray(is_issue, dtype=bool)
        self.details_ = details
        self.summary_ = {"rows": int(self.is_issue_.sum()), **summary}
        return self

    @abstractmethod
    def _fit(
        self, data: IssueData, progress: Progress
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], dict[str, Any]]:
        """Return (scores, is_issue, details, summary)."""

    @classmethod
    @abstractmethod
    def explain(cls, row: dict[str, Any], summary: dict[str, Any], class_names: Sequence[str]) -> str:
        """Why one flagged row is flagged, in plain words. ``row`` holds that row's stored values
        (``<issue>_score``, ``is_<issue>_issue`` and this detector's details) by name."""

    @classmethod
    def rule(cls, summary: dict[str, Any]) -> str:
        """The rule that decides a flag, with its numbers (shown beside the counts)."""
        return cls.description

    @classmethod
    def measure(cls, summary: dict[str, Any]) -> tuple[str, str, float | None] | None:
        """What the page's histogram of this check shows when its rule is stated in another quantity
        than ``scores_``: (detail array name, axis title saying which way is an issue, the rule's cutoff
        on it). None: the score itself (lower = more likely an issue)."""
        return None

    @classmethod
    def checked_rows(cls, summary: dict[str, Any]) -> tuple[int, str] | None:
        """How many rows the check could flag and what they are ("labeled rows"), when only some rows
        can be (a label check sees only labeled rows); None: every row. Shares are taken of these."""
        return None


DETECTORS: dict[str, type[IssueDetector]] = {}


def register_detector(cls: type[IssueDetector]) -> type[IssueDetector]:
    if cls.issue_name in DETECTORS:
        raise ValueError(f"issue detector {cls.issue_name} registered twice")
    DETECTORS[cls.issue_name] = cls
    ordered = sorted(DETECTORS.items(), key=lambda item: item[1].order)
    DETECTORS.clear()
    DETECTORS.update(ordered)
    return cls


def create_detector(name: str, **settings: Any) -> IssueDetector:
    """A new, unfitted detector by registered issue name."""
    try:
        cls = DETECTORS[name]
    except KeyError:
        raise InputError(f"No issue check '{name}'. Known: {', '.join(sorted(DETECTORS))}.") from None
    try:
        return cls(**settings)
    except TypeError as exc:
        raise InputError(f"Unknown setting for the {name} check: {exc}") from None
