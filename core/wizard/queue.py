"""The review queue: the open rows a person should label next, most informative first."""

from __future__ import annotations

import numpy as np

from core.projection import dataset_vectors
from core.sampling import DEFAULT_STRATEGY
from core.wizard.prediction import Prediction
from core.workspace import Workspace


def review_queue(
    ws: Workspace, prediction: Prediction, *, strategy: str = DEFAULT_STRATEGY, n: int = 20, seed: int = 0
) -> list[int]:
    """The ``n`` open rows a person should label next, most informative first (the same answer while
    the dataset version stays the same: every decision is a batch that bumps it)."""
    from core.review import still_to_review
    from core.sampling import create_strategy

    def compute() -> tuple[int, ...]:
        sampler = create_strategy(strategy)
        open_rows = set(still_to_review(ws, prediction.row_ids.tolist(), field=prediction.field))
        pool = np.array([int(r) in open_rows for r in prediction.row_ids])
        if not pool.any():
            return ()
        embeddings = None
        if sampler.needs_embeddings:
            row_ids, vectors = dataset_vectors(ws, prediction.run.dataset_id)
            position = {r: i for i, r in enumerate(row_ids)}
            embeddings = vectors[[position[int(r)] for r in prediction.row_ids]]
        picked = sampler.query(prediction.probabilities, n, embeddings=embeddings, labeled_mask=~pool, rng=seed)
        return tuple(int(prediction.row_ids[i]) for i in picked)

    key = ("review-queue", prediction.run.id, strategy, n, seed)
    return list(ws.derived(prediction.run.dataset_id, key, compute))
