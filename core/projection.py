"""The 2-D embedding map of a dataset, computed once per version of its vectors and stored.

Method (docs/decisions.md, "Embedding map"): vectors are L2-normalised (so distances follow
cosine similarity), reduced to 50 dimensions with PCA and laid out with scikit-learn's t-SNE
(PCA initialisation, fixed seed). t-SNE runs on at most ``TSNE_SAMPLE_SIZE`` rows, a seeded
sample; every other row is placed at the distance-weighted mean of its nearest sampled
neighbours, which keeps a 100k-row map near one minute on two cores.

A map is a saved run (house style): it is stored in the ``projections`` table under a key made of
the embedding model, the number of embedded rows and the largest embedded row id, so label
edits keep it and added rows replace it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from core.errors import InputError, NotFoundError
from core.store import now
from core.wording import counted

if TYPE_CHECKING:
    from core.workspace import Workspace

ProjectionProgress = Callable[[float, str], None]  # (fraction done, what is happening)

TSNE_SAMPLE_SIZE = 10_000  # rows laid out by t-SNE itself; ~1 min on 2 cores (see docs/decisions.md)
MIN_TSNE_ROWS = 50  # below this t-SNE has too few neighbours to mean anything; PCA is shown instead
SERIAL_TSNE_BELOW = 5_000  # smaller samples gain nothing from threads (see compute_projection)
PCA_DIMENSIONS = 50
PERPLEXITY = 30.0
PLACEMENT_NEIGHBOURS = 10
# Part of every key, so a change of method or settings never serves a map made the old way.
METHOD_VERSION = "pca50-tsne-v1"

_TABLE = (
    "CREATE TABLE IF NOT EXISTS projections(dataset_id INTEGER, key TEXT, method TEXT, created_at TEXT,"
    " row_ids BLOB, xy BLOB, PRIMARY KEY(dataset_id, key))"
)


@dataclass(frozen=True)
class Projection:
    """A stored map: ``xy[i]`` is the position of row ``row_ids[i]`` (rows in dataset order)."""

    row_ids: list[int]
    xy: np.ndarray  # float32, shape (n, 2), read-only
    method: str
    key: str
    created_at: str


# -- computing a layout ----------------------------------------------------------------------


def compute_projection(
    vectors: np.ndarray,
    *,
    random_state: int = 0,
    on_progress: ProjectionProgress | None = None,
    sample_size: int = TSNE_SAMPLE_SIZE,
) -> tuple[np.ndarray, str]:
    """Lay out vectors in 2-D so that similar rows land close together.

    The same vectors and seed give the same coordinates on the same machine.

    Parameters
    ----------
    vectors
        Shape (n, d); any scale (rows are L2-normalised first, so distance follows cosine).
    random_state
        Seed for the t-SNE sample and the t-SNE run.
    on_progress
        Called with (fraction done, message) between stages; t-SNE itself reports nothing while it runs.
    sample_size
        At most this many rows go through t-SNE; the others are placed by their nearest sampled
        neighbours (at least ``MIN_TSNE_ROWS``).

    Returns
    -------
    tuple[numpy.ndarray, str]
        Float32 coordinates of shape (n, 2) in the order of ``vectors``, and a description of the method.

    Raises
    ------
    InputError
        If ``vectors`` is not a 2-D array of finite numbers or ``sample_size`` is too small.
    """
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim != 2:
        raise InputError(f"Vectors must be a 2-D array (rows x dimensions), not shape {x.shape}.")
    if not np.isfinite(x).all():
        raise InputError("Some vectors contain NaN or infinite values; re-embed the dataset before drawing its map.")
    if sample_size < MIN_TSNE_ROWS:
        raise InputError(f"The t-SNE sample must hold at least {MIN_TSNE_ROWS} rows, not {sample_size}.")
    report = on_progress or _no_progress
    n = len(x)
    if n == 0:
        return np.zeros((0, 2), np.float32), "empty (no rows)"
    if n == 1:
        report(1.0, "Done")
        return np.zeros((1, 2), np.float32), "single point"
    x = _unit_rows(x)
    if n < MIN_TSNE_ROWS:
        report(1.0, "Done")
        return _principal_components(x, 2), f"PCA (cosine; too few rows for t-SNE: {n:,})"

    dimensions = min(PCA_DIMENSIONS, x.shape[1])
    report(0.0, f"Reducing {counted(n, 'vector')} to {dimensions} dimensions (PCA)")
    reduced = _principal_components(x, dimensions)
    if not reduced.any():  # every vector identical: t-SNE's PCA start would divide by zero
        report(1.0, "Done")
        return np.zeros((n, 2), np.float32), "single point (all vectors are identical)"

    from sklearn.manifold import TSNE  # imported here: only a map needs it
    from threadpoolctl import threadpool_limits

    if n > sample_size:
        sample = np.sort(np.random.default_rng(random_state).choice(n, sample_size, replace=False))
    else:
        sample = np.arange(n)
    perplexity = min(PERPLEXITY, (len(sample) - 1) / 3)
    report(0.05, f"Laying out {counted(len(sample), 'row')} with t-SNE")
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=random_state, n_jobs=-1)
    xy = np.zeros((n, 2), np.float32)
    # Small layouts run on one OpenMP thread: same coordinates, and on a busy 2-core server the
    # threads' spin-waiting made 2,000 rows 2.5x slower (docs/decisions.md).
    with threadpool_limits(limits=1 if len(sample) < SERIAL_TSNE_BELOW else None, user_api="openmp"):
        xy[sample] = tsne.fit_transform(reduced[sample])
    method = f"t-SNE (cosine, perplexity {perplexity:g}, after PCA to {dimensions})"
    if len(sample) < n:
        rest = np.setdiff1d(np.arange(n), sample)
        report(0.9, f"Placing the other {counted(len(rest), 'row')} by their {PLACEMENT_NEIGHBOURS} nearest neighbours")
        xy[rest] = _place_by_neighbours(reduced[sample], xy[sample], reduced[rest])
        method += f" on a {len(sample):,}-row sample; other rows placed by {PLACEMENT_NEIGHBOURS} nearest neighbours"
    report(1.0, "Done")
    return xy, method


def _no_progress(fraction: float, message: str) -> None:
    return None


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def _principal_components(x: np.ndarray, k: int) -> np.ndarray:
    """Project onto the top ``k`` principal axes, padding with zeros where the data has fewer.

    Eigen-decomposition of the d x d covariance: O(n d^2) time and O(d^2) extra memory, so it
    handles 100k+ rows, and never divides by a zero variance when rows repeat.
    """
    centred = x - x.mean(axis=0, dtype=np.float64).astype(np.float32)
    eigenvalues, eigenvectors = np.linalg.eigh((centred.T @ centred).astype(np.float64))
    order = np.argsort(eigenvalues)[::-1][: min(k, len(x) - 1, x.shape[1])]
    scale = max(float(eigenvalues.max()), 0.0)
    order = order[eigenvalues[order] > 1e-9 * scale] if scale > 0 else order[:0]
    axes = eigenvectors[:, order]
    # Fix each axis' sign (its largest entry positive) so reruns and other BLAS builds agree.
    axes = axes * np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(axes.shape[1])])
    out = np.zeros((len(x), k), np.float32)
    out[:, : axes.shape[1]] = centred @ axes.astype(np.float32)
    return out


def _place_by_neighbours(sample_x: np.ndarray, sample_xy: np.ndarray, rest_x: np.ndarray) -> np.ndarray:
    """Put each row at the inverse-distance-weighted mean position of its nearest sampled rows."""
    from sklearn.neighbors import NearestNeighbors

    k = min(PLACEMENT_NEIGHBOURS, len(sample_x))
    distances, indices = NearestNeighbors(n_neighbors=k).fit(sample_x).kneighbors(rest_x)
    weights = 1.0 / (distances + 1e-6)
    weights /= weights.sum(axis=1, keepdims=True)
    return np.einsum("ij,ijk->ik", weights, sample_xy[indices]).astype(np.float32)


# -- a dataset's vectors and its stored map ---------------------------------------------------


def dataset_vectors(
    ws: Workspace, dataset_id: int, *, space: str | None = None, cache_id: str | None = None
) -> tuple[list[int], np.ndarray]:
    """Row ids (in dataset order) and vectors of every embedded row of a dataset.

    Vectors come from the workspace's embedding cache (local SQLite, much faster than Chroma);
    rows whose vector is missing there (the cache is rebuildable and may have been left out of a
    backup) are read from Chroma. ``space`` / ``cache_id`` name another vector space of the same
    rows (an image dataset's ConSE concept vectors); by default the dataset's own model.

    Raises
    ------
    NotFoundError
        If the dataset does not exist or an embedded row has no vector in either place.
    """
    dataset = ws.store.dataset(dataset_id)
    with ws.store.connect() as conn:
        rows = conn.execute(
            "SELECT id, content_hash FROM rows WHERE dataset_id = ? AND embedded = 1 ORDER BY position, id",
            (dataset_id,),
        ).fetchall()
    if not rows:
        return [], np.zeros((0, 0), np.float32)
    row_ids = [r[0] for r in rows]
    space = space or dataset.embedding_model
    by_hash = ws.cache.get(cache_id or space, [r[1] for r in rows])
    by_row = {r[0]: by_hash[r[1]] for r in rows if r[1] in by_hash}
    missing = [rid for rid in row_ids if rid not in by_row]
    if missing:
        by_row.update(ws.vectors.get_vectors(dataset_id, space, missing))
        lost = [rid for rid in missing if rid not in by_row]
        if lost:
            raise NotFoundError(
                f"{counted(len(lost), 'embedded row')} of '{dataset.name}'"
                f" {'has' if len(lost) == 1 else 'have'} no stored vector"
                f" (first: row {lost[0]}); "
                "re-ingest the file into a new dataset to embed them again."
            )
    return row_ids, np.stack([by_row[rid] for rid in row_ids]).astype(np.float32, copy=False)


def projection_key(ws: Workspace, dataset_id: int) -> str:
    """The key of the dataset's current vectors: changes when rows are embedded, not when labels change.

    Embedded rows are only ever added (never removed or re-embedded), so their count and largest
    id identify the set; the embedding model and ``METHOD_VERSION`` complete the key.
    """
    dataset = ws.store.dataset(dataset_id)
    with ws.store.connect() as conn:
        count, max_id = conn.execute(
            "SELECT COUNT(*), MAX(id) FROM rows WHERE dataset_id = ? AND embedded = 1", (dataset_id,)
        ).fetchone()
    return _key(dataset.embedding_model, count, max_id)


def _key(model_id: str, count: int, max_id: int | None) -> str:
    return f"{model_id}|rows={count}|max_id={max_id or 0}|{METHOD_VERSION}"


def stored_projection(ws: Workspace, dataset_id: int) -> Projection | None:
    """The stored map for the dataset's current vectors, or None if there is none yet."""
    key = projection_key(ws, dataset_id)
    with ws.store.connect() as conn:
        conn.execute(_TABLE)
        row = conn.execute(
            "SELECT key, method, created_at, row_ids, xy FROM projections WHERE dataset_id = ? AND key = ?",
            (dataset_id, key),
        ).fetchone()
    return None if row is None else _projection(row)


def get_or_compute_projection(
    ws: Workspace, dataset_id: int, *, on_progress: ProjectionProgress | None = None
) -> Projection:
    """The dataset's map: the stored one for its current vectors, else computed now and stored.

    Parameters
    ----------
    ws
        The workspace holding the dataset.
    dataset_id
        Which dataset.
    on_progress
        Called with (fraction done, message) while a new map is computed.

    Raises
    ------
    InputError
        If the dataset has no embedded rows yet.
    NotFoundError
        If the dataset does not exist or vectors are missing (see :func:`dataset_vectors`).
    """
    stored = stored_projection(ws, dataset_id)
    if stored is not None:
        return stored
    dataset = ws.store.dataset(dataset_id)
    row_ids, vectors = dataset_vectors(ws, dataset_id)
    if not row_ids:
        raise InputError(f"'{dataset.name}' has no embedded rows yet; finish (or resume) its ingest to draw a map.")
    xy, method = compute_projection(vectors, on_progress=on_progress)
    # Keyed by the rows actually read, so rows embedded meanwhile by a running ingest give a new key.
    key = _key(dataset.embedding_model, len(row_ids), max(row_ids))
    created_at = now()
    with ws.store.transaction() as conn:
        conn.execute(_TABLE)
        # Embedded rows only grow, so a map under another key can never be current again.
        conn.execute("DELETE FROM projections WHERE dataset_id = ? AND key != ?", (dataset_id, key))
        conn.execute(
            "INSERT OR REPLACE INTO projections(dataset_id, key, method, created_at, row_ids, xy) VALUES(?,?,?,?,?,?)",
            (
                dataset_id,
                key,
                method,
                created_at,
                np.asarray(row_ids, dtype="<i8").tobytes(),
                np.ascontiguousarray(xy, dtype="<f4").tobytes(),
            ),
        )
    frozen = np.array(xy, dtype=np.float32)
    frozen.setflags(write=False)  # shared through st.cache_* in the app: nobody may mutate it
    return Projection(row_ids=list(row_ids), xy=frozen, method=method, key=key, created_at=created_at)


def _projection(row: sqlite3.Row) -> Projection:
    return Projection(
        row_ids=np.frombuffer(row["row_ids"], dtype="<i8").tolist(),
        xy=np.frombuffer(row["xy"], dtype="<f4").reshape(-1, 2),  # read-only, like a fresh one
        method=row["method"],
        key=row["key"],
        created_at=row["created_at"],
    )
