"""Building blocks of the semi-supervised labeler: a kNN graph over all rows, label spreading on
it, and two fast "student" models trained on the spread labels (shrinkage LDA on embeddings,
multinomial naive Bayes on TF-IDF).

All of it is closed-form or a few sparse matrix products, so fitting on 10,000 rows takes about a
second and cross-validation stays cheap.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from core.autolabel.base import AutoLabelData, softmax

_BLOCK = 1024


def nearest_neighbors(X: np.ndarray, n_neighbors: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine kNN of every row among all rows (itself excluded), computed in blocks.

    Returns (indices, similarities), each (n_rows, k) with k = min(n_neighbors, n_rows - 1).
    """
    n = len(X)
    k = min(n_neighbors, n - 1)
    indices = np.zeros((n, max(k, 0)), dtype=np.int64)
    similarity = np.zeros((n, max(k, 0)), dtype=np.float32)
    if k <= 0:
        return indices, similarity
    for start in range(0, n, _BLOCK):
        sims = X[start : start + _BLOCK] @ X.T
        rows = np.arange(len(sims))
        sims[rows, start + rows] = -np.inf
        part = np.argpartition(sims, n - k - 1, axis=1)[:, n - k :]
        indices[start : start + len(sims)] = part
        similarity[start : start + len(sims)] = np.take_along_axis(sims, part, axis=1)
    return indices, similarity


def knn_graph(data: AutoLabelData, n_neighbors: int) -> sparse.csr_matrix:
    """Symmetric, degree-normalised kNN affinity S = D^-1/2 W D^-1/2 (cached on ``data``).

    W holds the cosine similarity (clipped at 0) of each row to its k nearest neighbours, made
    symmetric with the element-wise maximum.
    """

    def build() -> sparse.csr_matrix:
        n = data.n_rows
        indices, similarity = data.cached(("knn", n_neighbors), lambda: nearest_neighbors(data.X, n_neighbors))
        rows = np.repeat(np.arange(n), indices.shape[1])
        W = sparse.csr_matrix((np.clip(similarity, 0, None).ravel(), (rows, indices.ravel())), shape=(n, n))
        W = W.maximum(W.T)
        degree = np.asarray(W.sum(axis=1)).ravel()
        scale = sparse.diags(1.0 / np.sqrt(np.maximum(degree, 1e-12)))
        return (scale @ W @ scale).tocsr()

    return data.cached(("graph", n_neighbors), build)


def label_spreading(
    graph: sparse.csr_matrix,
    y: np.ndarray,
    n_classes: int,
    *,
    alpha: float,
    n_iter: int,
    prior: np.ndarray | None = None,
    prior_weight: float = 0.0,
) -> np.ndarray:
    """Label spreading (Zhou et al. 2004): F <- alpha S F + (1 - alpha) Y0, normalised per row.

    Labeled rows start one-hot; unlabeled rows start at ``prior_weight * prior`` (for example
    zero-shot probabilities from class names) or zero. A fixed number of iterations keeps the
    spreading local, which scored better than running it to convergence. Rows the spreading
    never reaches get the uniform distribution.
    """
    n = len(y)
    Y0 = np.zeros((n, n_classes))
    labeled = y >= 0
    Y0[labeled, y[labeled]] = 1.0
    if prior is not None and prior_weight > 0:
        Y0[~labeled] = prior_weight * prior[~labeled]
    F = Y0.copy()
    for _ in range(n_iter):
        F = alpha * (graph @ F) + (1 - alpha) * Y0
    total = F.sum(axis=1, keepdims=True)
    return np.where(total > 1e-12, F / np.maximum(total, 1e-12), 1.0 / n_classes)


def lda_proba(
    X: np.ndarray, labels: np.ndarray, weights: np.ndarray, n_classes: int, *, shrinkage: float
) -> np.ndarray:
    """Posterior of a weighted linear discriminant (shared covariance shrunk towards a scaled
    identity) fitted on (pseudo-)labels; closed form, so it fits 10,000 x 384 in well under a second."""
    d = X.shape[1]
    w = weights / weights.sum()
    priors = np.array([w[labels == c].sum() for c in range(n_classes)]) + 1e-9
    means = np.stack([(w[labels == c, None] * X[labels == c]).sum(axis=0) for c in range(n_classes)])
    means /= priors[:, None]
    centered = (X - means[labels]).astype(np.float64)
    cov = (centered * w[:, None]).T @ centered
    cov = (1 - shrinkage) * cov + shrinkage * (np.trace(cov) / d + 1e-9) * np.eye(d)
    coef = np.linalg.solve(cov, means.T)  # (d, n_classes)
    logits = X @ coef - 0.5 * np.sum(means.T * coef, axis=0) + np.log(priors / priors.sum())
    return softmax(logits)


def naive_bayes_proba(
    features: sparse.csr_matrix, labels: np.ndarray, weights: np.ndarray, n_classes: int, *, smoothing: float
) -> np.ndarray:
    """Multinomial naive Bayes on TF-IDF, fitted on weighted (pseudo-)labels."""
    from sklearn.naive_bayes import MultinomialNB

    model = MultinomialNB(alpha=smoothing).fit(features, labels, sample_weight=weights)
    proba = np.zeros((features.shape[0], n_classes))
    proba[:, model.classes_] = model.predict_proba(features)
    return proba


def geometric_mean(probas: list[np.ndarray], floor: float = 1e-6) -> np.ndarray:
    """Combine views by averaging their log-probabilities (a product of experts)."""
    logs = np.mean([np.log(np.clip(p, floor, 1.0)) for p in probas], axis=0)
    return softmax(logs)
