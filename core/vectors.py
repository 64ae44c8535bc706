"""ChromaDB as the vector store: embedded by default, a Chroma server when a host is set.

One collection per (dataset, embedding model), ids are our row ids. We always pass our own
embeddings: Chroma's default embedding function downloads a model and fails offline, so every
collection is made with ``embedding_function=None``. Chroma holds only the vectors and their row
ids: no documents and no metadata. Every filter is answered from SQLite, the source of truth, and a
filtered query is restricted by ids (core/search.py), which measured faster than Chroma's own
``where`` on 100k rows; the copy of the filter fields Chroma used to keep made a 10k-row bulk label
take 7 s instead of 0.5 (docs/decisions.md, Search).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.config import ChromaSettings, chroma_auth_headers
from core.errors import CuratorError


def collection_name(dataset_id: int, model_id: str, prefix: str = "") -> str:
    """Chroma wants 3-512 chars of [a-zA-Z0-9._-], starting and ending alphanumeric. ``prefix`` names
    the workspace (see :class:`VectorStore`)."""
    slug = re.sub(r"[^a-zA-Z0-9._-]+", "-", model_id).strip("-._")
    return f"{prefix}ds{dataset_id}-{slug}"[:200]


class VectorStore:
    """``prefix`` starts every collection's name: dataset ids restart at 1 in each workspace, so two
    workspaces on one Chroma server would otherwise write into each other's collections."""

    def __init__(self, path: Path, settings: ChromaSettings | None = None, *, prefix: str = ""):
        import chromadb
        from chromadb.config import Settings

        self.settings = settings or ChromaSettings()
        self.prefix = prefix
        chroma_settings = Settings(anonymized_telemetry=False)
        try:
            if self.settings.server_mode:
                self.client = chromadb.HttpClient(
                    host=self.settings.host,
                    port=self.settings.port,
                    ssl=self.settings.ssl,
                    headers=chroma_auth_headers(),
                    settings=chroma_settings,
                )
                self.client.heartbeat()
            else:
                Path(path).mkdir(parents=True, exist_ok=True)
                self.client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        except Exception as exc:  # connection errors come in many types; name the server, not secrets
            raise CuratorError(f"Could not open {self.settings.describe()}: {type(exc).__name__}: {exc}") from exc
        self.max_batch = int(self.client.get_max_batch_size())

    def name(self, dataset_id: int, model_id: str) -> str:
        return collection_name(dataset_id, model_id, self.prefix)

    def collection(self, dataset_id: int, model_id: str) -> Any:
        return self.client.get_or_create_collection(
            self.name(dataset_id, model_id),
            embedding_function=None,
            metadata={"hnsw:space": "cosine", "model_id": model_id, "dataset_id": dataset_id},
        )

    def upsert(
        self,
        dataset_id: int,
        model_id: str,
        row_ids: Sequence[int],
        vectors: np.ndarray,
    ) -> None:
        """Idempotent by row id: writing the same rows twice leaves one copy (resume relies on it).

        No documents: Chroma indexed them for full-text search (4 of the 10 s Chroma took in a 10k-row
        ingest), and a keyword filter is matched in SQLite, where the text is (core/search.py). No
        metadata either (see the module's notes).
        """
        coll = self.collection(dataset_id, model_id)
        for start in range(0, len(row_ids), self.max_batch):
            stop = start + self.max_batch
            coll.upsert(
                ids=[str(r) for r in row_ids[start:stop]],
                embeddings=np.asarray(vectors[start:stop], dtype=np.float32),
            )

    def count(self, dataset_id: int, model_id: str) -> int:
        return self.collection(dataset_id, model_id).count()

    def get_vectors(self, dataset_id: int, model_id: str, row_ids: Sequence[int]) -> dict[int, np.ndarray]:
        coll = self.collection(dataset_id, model_id)
        out: dict[int, np.ndarray] = {}
        for start in range(0, len(row_ids), self.max_batch):
            got = coll.get(ids=[str(r) for r in row_ids[start : start + self.max_batch]], include=["embeddings"])
            for rid, vec in zip(got["ids"], got["embeddings"], strict=True):
                out[int(rid)] = np.asarray(vec, dtype=np.float32)
        return out

    def has_collection(self, dataset_id: int, model_id: str) -> bool:
        return self.name(dataset_id, model_id) in {c.name for c in self.client.list_collections()}

    def delete(self, dataset_id: int, model_id: str, row_ids: Sequence[int]) -> None:
        """Take rows out of a collection (an undone append); ids not in it are ignored."""
        coll = self.collection(dataset_id, model_id)
        for start in range(0, len(row_ids), self.max_batch):
            coll.delete(ids=[str(r) for r in row_ids[start : start + self.max_batch]])

    def query(
        self,
        dataset_id: int,
        model_id: str,
        vector: np.ndarray,
        *,
        n: int = 10,
        ids: Sequence[int] | None = None,
    ) -> list[tuple[int, float]]:
        """Nearest rows as (row id, cosine similarity), best first; only among ``ids`` when given."""
        if ids is not None and not ids:
            return []
        # n_results above the collection size is fine (fewer come back): no count() call (~8 ms).
        result = self.collection(dataset_id, model_id).query(
            query_embeddings=np.asarray(vector, dtype=np.float32).reshape(1, -1),
            n_results=n,
            ids=[str(i) for i in ids] if ids is not None else None,
            include=["distances"],
        )
        return [(int(i), 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0], strict=True)]

    def drop(self, dataset_id: int, model_id: str) -> None:
        name = self.name(dataset_id, model_id)
        if name in {c.name for c in self.client.list_collections()}:
            self.client.delete_collection(name)
