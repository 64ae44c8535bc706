"""Saved searches ("functions"): a named query vector + threshold that works as a filter.

Every embedded row gets a stored score against the query, so the match count and the filter are
plain SQL. Rows added later are scored when their ingest finishes (and on any call to
:func:`rescore`), so a saved search keeps covering the whole dataset.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np

from core.embedders import Embedder
from core.errors import ConflictError, InputError, NotFoundError
from core.search import query_space
from core.store import Dataset, chunked, now
from core.wording import counted
from core.workspace import Workspace

# A saved search with how many rows score at or above its threshold.
_WITH_MATCHES = (
    "SELECT ss.*, (SELECT COUNT(*) FROM saved_search_scores sc WHERE sc.search_id = ss.id"
    " AND sc.score >= ss.threshold) AS matches FROM saved_searches ss"
)


@dataclass(frozen=True)
class SavedSearch:
    id: int
    dataset_id: int
    name: str
    query: str
    space: str
    threshold: float
    matches: int


def save_search(
    ws: Workspace,
    dataset: Dataset,
    name: str,
    *,
    query: str | None = None,
    example_row_ids: list[int] | None = None,
    text_embedder: Embedder | None = None,
    threshold: float,
) -> SavedSearch:
    """Save a natural-language query (needs ``text_embedder``) or an example set (its centroid)."""
    name = name.strip()
    if not name:
        raise InputError("Give the saved search a name.")
    if not -1.0 <= threshold <= 1.0:
        raise InputError("The score threshold is a cosine similarity between -1 and 1.")
    if query and query.strip():
        if text_embedder is None:
            raise InputError("A text query needs a text model to embed it.")
        space, _ = query_space(dataset, text_embedder)
        vector = text_embedder.embed_texts([query.strip()])[0]
        description = query.strip()
    elif example_row_ids:
        space = dataset.embedding_model
        found = ws.vectors.get_vectors(dataset.id, space, example_row_ids)
        if not found:
            raise InputError("The example rows have no embeddings yet.")
        vector = np.mean(np.stack(list(found.values())), axis=0)
        description = f"more like {counted(len(found), 'example row')}"
    else:
        raise InputError("Type a query or select example rows to save.")
    vector = np.asarray(vector, dtype=np.float32) / max(float(np.linalg.norm(vector)), 1e-12)
    with ws.store.transaction() as conn:
        try:
            search_id = conn.execute(
                "INSERT INTO saved_searches(dataset_id, name, query, space, vector, threshold, created_at)"
                " VALUES(?,?,?,?,?,?,?)",
                (dataset.id, name, description, space, vector.tobytes(), float(threshold), now()),
            ).lastrowid
        except sqlite3.IntegrityError as exc:
            raise ConflictError(f"A saved search named '{name}' already exists for this dataset.") from exc
    rescore(ws, dataset.id)
    return saved_search(ws, int(search_id))


def rescore(ws: Workspace, dataset_id: int) -> int:
    """Score every embedded row that a saved search of this dataset has not scored yet."""
    with ws.store.connect() as conn:
        searches = conn.execute(
            "SELECT id, space, vector FROM saved_searches WHERE dataset_id = ?", (dataset_id,)
        ).fetchall()
    scored = 0
    for search_id, space, blob in searches:
        with ws.store.connect() as conn:
            missing = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM rows WHERE dataset_id = ? AND embedded = 1 AND id NOT IN"
                    " (SELECT row_id FROM saved_search_scores WHERE search_id = ?)",
                    (dataset_id, search_id),
                )
            ]
        if not missing:
            continue
        query = np.frombuffer(blob, dtype=np.float32)
        for part in chunked(missing, 5000):
            vectors = ws.vectors.get_vectors(dataset_id, space, list(part))
            ids = list(vectors)
            scores = np.stack([vectors[i] for i in ids]) @ query if ids else np.zeros(0)
            with ws.store.transaction() as conn:
                conn.executemany(
                    "INSERT OR REPLACE INTO saved_search_scores(search_id, row_id, score) VALUES(?,?,?)",
                    [(search_id, i, float(s)) for i, s in zip(ids, scores, strict=True)],
                )
            scored += len(ids)
    return scored


def saved_searches(ws: Workspace, dataset_id: int) -> list[SavedSearch]:
    with ws.store.transaction() as conn:
        rows = conn.execute(
            _WITH_MATCHES + " WHERE dataset_id = ? ORDER BY ss.name",
            (dataset_id,),
        ).fetchall()
    return [_saved(r) for r in rows]


def saved_search(ws: Workspace, search_id: int) -> SavedSearch:
    with ws.store.transaction() as conn:
        row = conn.execute(
            _WITH_MATCHES + " WHERE id = ?",
            (search_id,),
        ).fetchone()
    if row is None:
        raise NotFoundError(f"No saved search {search_id}.")
    return _saved(row)


def delete_saved_search(ws: Workspace, search_id: int) -> None:
    with ws.store.transaction() as conn:
        conn.execute("DELETE FROM saved_search_scores WHERE search_id = ?", (search_id,))
        conn.execute("DELETE FROM saved_searches WHERE id = ?", (search_id,))


def _saved(row: sqlite3.Row) -> SavedSearch:
    return SavedSearch(
        id=row["id"],
        dataset_id=row["dataset_id"],
        name=row["name"],
        query=row["query"],
        space=row["space"],
        threshold=row["threshold"],
        matches=row["matches"],
    )
