"""Active-learning sampling strategies: which unlabeled rows to label next.

Each strategy is one small class behind the contract ``query(probabilities, n, *, embeddings,
labeled_mask, rng) -> row indices`` and a registry (``STRATEGIES``, ``@register_strategy``), so the
UI lists whatever is registered with its ``name`` and plain-language ``description``.

The contract adapts small-text's ``query(model, pool, n)``: instead of the model, a strategy gets the
model's predicted class probabilities for every row of the pool. That keeps strategies independent of
the model type (any classifier, or predictions already saved as a run) and lets one prediction pass
serve several strategies. Indices are positions in the pool; rows flagged in ``labeled_mask`` are
never returned.

For two classes, least-confidence, margin and entropy rank rows identically (each is a monotone
function of |p - 0.5|); they differ only with three or more classes.

Learning curves (simulated labeling with a strategy) live in core/learning_curve.py.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
from threadpoolctl import threadpool_limits

from core.errors import InputError
from core.registry import Registry

RandomSource = np.random.Generator | int | None


class SamplingStrategy(ABC):
    """Chooses the next rows to label. ``__init__`` only stores settings."""

    name: ClassVar[str]
    description: ClassVar[str]
    #: True when ``query`` needs the rows' embeddings (the UI can warn before running it).
    needs_embeddings: ClassVar[bool] = False

    def __init__(self, **settings: Any):
        self.settings = settings

    def query(
        self,
        probabilities: np.ndarray,
        n: int,
        *,
        embeddings: np.ndarray | None = None,
        labeled_mask: np.ndarray | None = None,
        rng: RandomSource = None,
    ) -> np.ndarray:
        """Indices of the ``n`` pool rows to label next.

        Parameters
        ----------
        probabilities
            Predicted class probabilities for every pool row, shape (n_rows, n_classes).
        n
            How many rows to pick; fewer are returned when fewer unlabeled rows remain.
        embeddings
            Row vectors, shape (n_rows, dim); only strategies with ``needs_embeddings`` use them.
        labeled_mask
            Boolean, shape (n_rows,): rows already labeled, never picked. ``None``: none labeled.
        rng
            Seed or generator; breaks ties among equally scored rows (and drives random picks).

        Returns
        -------
        np.ndarray
            Distinct int64 row indices, most wanted first.
        """
        probabilities = _check_probabilities(probabilities)
        if n < 0:
            raise InputError(f"Cannot pick {n} rows: ask for zero or more.")
        unlabeled = _unlabeled_rows(len(probabilities), labeled_mask)
        if self.needs_embeddings:
            embeddings = _check_embeddings(embeddings, len(probabilities), self.name)
        n = min(int(n), len(unlabeled))
        if n == 0:
            return np.empty(0, dtype=np.int64)
        picked = self._pick(probabilities, unlabeled, n, embeddings, np.random.default_rng(rng))
        return np.asarray(picked, dtype=np.int64)

    @abstractmethod
    def _pick(
        self,
        probabilities: np.ndarray,
        unlabeled: np.ndarray,
        n: int,
        embeddings: np.ndarray | None,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Pick ``n`` (≤ len(unlabeled)) distinct rows out of ``unlabeled``; inputs are validated."""


class UncertaintyStrategy(SamplingStrategy):
    """Picks the unlabeled rows with the highest ``uncertainty`` score."""

    @staticmethod
    @abstractmethod
    def uncertainty(probabilities: np.ndarray) -> np.ndarray:
        """One score per row; higher means the model is less sure."""

    def _pick(self, probabilities, unlabeled, n, embeddings, rng):
        return _most_uncertain(self.uncertainty(probabilities[unlabeled]), unlabeled, n, rng)


STRATEGIES: Registry[SamplingStrategy] = Registry("sampling strategy")
#: What the review step shows first, and so what its learning curve compares with random (bench/active_learning.py).
DEFAULT_STRATEGY = "margin"


register_strategy = STRATEGIES.register


def create_strategy(name: str, **settings: Any) -> SamplingStrategy:
    """A strategy by registered name, e.g. ``create_strategy("margin")``."""
    return STRATEGIES.lookup(name)(**settings)


@register_strategy
class RandomSampling(SamplingStrategy):
    name = "random"
    description = "Picks rows at random. The baseline every other strategy is measured against."

    def _pick(self, probabilities, unlabeled, n, embeddings, rng):
        return rng.choice(unlabeled, size=n, replace=False)


@register_strategy
class LeastConfidence(UncertaintyStrategy):
    name = "least-confidence"
    description = "Picks rows whose most likely label the model is least sure of."

    @staticmethod
    def uncertainty(probabilities: np.ndarray) -> np.ndarray:
        return 1.0 - probabilities.max(axis=1)


@register_strategy
class MarginSampling(UncertaintyStrategy):
    name = "margin"
    description = "Picks rows where the model's top two labels are closest: it is torn between them."

    @staticmethod
    def uncertainty(probabilities: np.ndarray) -> np.ndarray:
        return 1.0 - _top_two_margin(probabilities)


@register_strategy
class EntropySampling(UncertaintyStrategy):
    name = "entropy"
    description = "Picks rows where the model spreads its belief most evenly over all labels."

    @staticmethod
    def uncertainty(probabilities: np.ndarray) -> np.ndarray:
        p = np.clip(probabilities, 1e-12, 1.0)
        return -(p * np.log(p)).sum(axis=1)


@register_strategy
class DiverseMargin(SamplingStrategy):
    """Margin pre-filter, then weighted k-means for spread (Zhdanov 2019, "Diverse mini-batch AL").

    Pure uncertainty sampling with large batches tends to pick many near-duplicates (ten tweets
    saying "so tired"): each adds little once one is labeled. This takes the
    ``candidate_factor * n`` rows with the smallest margin, clusters their embeddings into ``n``
    groups (k-means weighted by uncertainty) and picks, per group, the row nearest its centre.
    """

    name = "diverse-margin"
    description = (
        "Takes the rows the model is least sure about, groups similar ones together and picks one per "
        "group, so a batch does not spend labels on near-duplicates. Needs embeddings."
    )
    needs_embeddings = True

    def __init__(self, *, candidate_factor: int = 10):
        if candidate_factor < 1:
            raise InputError(f"candidate_factor must be at least 1, got {candidate_factor}.")
        super().__init__(candidate_factor=candidate_factor)
        self.candidate_factor = candidate_factor

    def _pick(self, probabilities, unlabeled, n, embeddings, rng):
        uncertainty = 1.0 - _top_two_margin(probabilities)
        n_candidates = min(len(unlabeled), self.candidate_factor * n)
        candidates = _most_uncertain(uncertainty[unlabeled], unlabeled, n_candidates, rng)
        if n_candidates == n:
            return candidates
        return _spread_out(candidates, embeddings[candidates], uncertainty[candidates], n, rng)


def describe_strategies() -> list[tuple[str, str]]:
    """(name, description) of every registered strategy, for a select box."""
    return [(name, cls.description) for name, cls in STRATEGIES.items()]


# --- helpers ---------------------------------------------------------------------------------


def _top_two_margin(probabilities: np.ndarray) -> np.ndarray:
    top_two = np.partition(probabilities, -2, axis=1)[:, -2:]
    return top_two[:, 1] - top_two[:, 0]


def _most_uncertain(scores: np.ndarray, rows: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """The ``n`` rows with the highest scores, ties broken at random (else ties favour low indices)."""
    shuffled = rng.permutation(len(rows))
    order = shuffled[np.argsort(-scores[shuffled], kind="stable")]
    return rows[order[:n]]


def _spread_out(
    candidates: np.ndarray, vectors: np.ndarray, weights: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """One candidate per weighted k-means cluster (the one nearest its centre); ``candidates`` come
    most uncertain first, and fill any cluster k-means left empty."""
    from sklearn.cluster import KMeans

    with warnings.catch_warnings(), threadpool_limits(limits=1):  # one thread: see learning_curve
        # Fewer distinct vectors than clusters (duplicate texts): the top-up below handles it.
        warnings.filterwarnings("ignore", message="Number of distinct clusters")
        kmeans = KMeans(n_clusters=n, n_init=1, random_state=int(rng.integers(2**31 - 1)))
        assignment = kmeans.fit_predict(vectors, sample_weight=np.maximum(weights, 1e-6))
    distances = np.linalg.norm(vectors - kmeans.cluster_centers_[assignment], axis=1)
    picked: list[int] = []
    for cluster in range(n):
        members = np.flatnonzero(assignment == cluster)
        if len(members):
            picked.append(members[np.argmin(distances[members])])
    taken = set(picked)
    picked += [i for i in range(len(candidates)) if i not in taken][: n - len(picked)]
    return candidates[np.sort(np.asarray(picked, dtype=np.int64))]  # most uncertain first


def _check_probabilities(probabilities: np.ndarray) -> np.ndarray:
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] < 2:
        raise InputError(
            f"Expected class probabilities of shape (rows, classes ≥ 2), got {probabilities.shape}. "
            "For a binary model pass both columns of predict_proba."
        )
    if not np.all(np.isfinite(probabilities)):
        raise InputError("Class probabilities contain NaN or infinite values.")
    return probabilities


def _check_embeddings(embeddings: np.ndarray | None, n_rows: int, strategy: str) -> np.ndarray:
    if embeddings is None:
        raise InputError(f"The '{strategy}' strategy needs the rows' embeddings.")
    embeddings = np.asarray(embeddings, dtype=np.float32)
    if embeddings.ndim != 2 or len(embeddings) != n_rows:
        raise InputError(f"Expected embeddings of shape ({n_rows}, dim), got {embeddings.shape}.")
    return embeddings


def _unlabeled_rows(n_rows: int, labeled_mask: np.ndarray | None) -> np.ndarray:
    if labeled_mask is None:
        return np.arange(n_rows)
    labeled_mask = np.asarray(labeled_mask)
    if labeled_mask.dtype != bool or labeled_mask.shape != (n_rows,):
        raise InputError(f"labeled_mask must be a boolean array of shape ({n_rows},), got {labeled_mask.shape}.")
    return np.flatnonzero(~labeled_mask)
