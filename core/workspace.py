"""A workspace: one folder holding the SQLite store, the embedding cache, uploads, extracted
images and (in embedded mode) the Chroma database. Copy the folder to back it up.

Layout::

    workspace/
      curator.sqlite          rows, labels, tags, history, jobs (the source of truth)
      chroma/                 vectors (embedded mode; a Chroma server holds them otherwise)
      cache/embeddings.sqlite vectors by (model, content hash), rebuildable
      uploads/<sha>/<file>    uploaded files, kept so an ingest can resume
      media/<sha>/...         images extracted from uploaded ZIPs
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import numpy as np

from core.config import ChromaSettings
from core.embedcache import EmbeddingCache
from core.history import Batch, UndoResult, open_batch, undo
from core.store import Dataset, Store
from core.vectors import VectorStore

T = TypeVar("T")
DERIVED_ENTRIES = 16  # a candidate set of 100k row ids is ~8 MB


@dataclass(frozen=True)
class DatasetStatus:
    dataset: Dataset
    rows: int
    embedded: int
    labeled: int
    excluded: int
    problems: int
    needs_review: int

    @property
    def labeled_share(self) -> float:
        return self.labeled / self.rows if self.rows else 0.0

    @property
    def embedded_share(self) -> float:
        return (self.embedded + self.problems) / self.rows if self.rows else 1.0

    @property
    def pending(self) -> int:
        """Rows an unfinished ingest has not embedded yet (a resume embeds them)."""
        return self.rows - self.embedded - self.problems

    @property
    def not_embedded(self) -> int:
        """Rows search, auto-label and the issue checks cannot see: pending ones and problem ones
        (empty text, unreadable image), which are never embedded."""
        return self.rows - self.embedded


class Workspace:
    def __init__(self, root: Path, *, chroma: ChromaSettings | None = None):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.chroma_settings = chroma or ChromaSettings()
        self.store = Store(self.root / "curator.sqlite")
        self.cache = EmbeddingCache(self.root / "cache" / "embeddings.sqlite")
        self.uploads_dir = self.root / "uploads"
        self.media_dir = self.root / "media"
        # Values derived from a dataset's rows, keyed by its version: safe to share between users
        # (the same data gives the same value), so one lock guards them.
        self._derived: OrderedDict[Hashable, object] = OrderedDict()
        self._derived_lock = threading.Lock()

    @cached_property
    def vectors(self) -> VectorStore:
        """Opened on first use, so browsing the store never waits for Chroma."""
        vectors = VectorStore(self.root / "chroma", self.chroma_settings, prefix=self.store.collection_prefix())
        self._sync_vectors(vectors)
        return vectors

    def derived(self, dataset_id: int, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, reused until the dataset changes (every batch and ingest chunk bumps
        its version). Keeps the few most recent values."""
        with self.store.connect() as conn:
            row = conn.execute("SELECT version FROM datasets WHERE id = ?", (dataset_id,)).fetchone()
        full_key = (dataset_id, row[0] if row else None, key)
        with self._derived_lock:
            if full_key in self._derived:
                self._derived.move_to_end(full_key)
                return self._derived[full_key]  # type: ignore[return-value]
        value = compute()
        with self._derived_lock:
            self._derived[full_key] = value
            while len(self._derived) > DERIVED_ENTRIES:
                self._derived.popitem(last=False)
        return value

    def datasets(self) -> list[Dataset]:
        return self.store.datasets()

    def dataset(self, key: int | str) -> Dataset:
        return self.store.dataset(key)

    def status(self, key: int | str) -> DatasetStatus:
        dataset = self.store.dataset(key)
        # Every page's sidebar shows these; three COUNTs over 100k rows cost ~100 ms per rerun.
        c = self.derived(dataset.id, "counts", lambda: self.store.counts(dataset.id))
        return DatasetStatus(
            dataset=dataset,
            rows=c["rows"],
            embedded=c["embedded"],
            labeled=c["labeled"],
            excluded=c["excluded"],
            problems=c["problems"],
            needs_review=c["needs_review"],
        )

    @contextmanager
    def batch(self, dataset_id: int, *, action: str, description: str, actor: str | None = None) -> Iterator[Batch]:
        """One undoable user action (see :func:`core.history.open_batch`); Chroma follows after."""
        with open_batch(self.store, dataset_id, action=action, description=description, actor=actor) as b:
            yield b
        self._sync_vectors(self.vectors)

    def undo(self, batch_id: str, *, actor: str | None = None) -> UndoResult:
        result = undo(self.store, batch_id, actor=actor)
        self._sync_vectors(self.vectors)
        return result

    def sync_vectors(self) -> None:
        """Bring Chroma in line with the outbox now (see :meth:`_sync_vectors`)."""
        self._sync_vectors(self.vectors)

    def _sync_vectors(self, vectors: VectorStore) -> None:
        """Make Chroma follow the rows a batch took out of a dataset or brought back (an append's undo
        and redo), then clear the outbox (``mirror_pending``).

        Runs after each batch and when the workspace opens, so a crash between the SQLite commit and
        the Chroma update is repaired on the next start. Other changes need nothing in Chroma, which
        holds only vectors (core/vectors.py).
        """
        with self.store.connect() as conn:
            pending = [r[0] for r in conn.execute("SELECT row_id FROM mirror_pending")]
        self._move_vectors(vectors)
        if pending:
            with self.store.transaction() as conn:
                conn.executemany("DELETE FROM mirror_pending WHERE row_id = ?", [(r,) for r in pending])

    def _move_vectors(self, vectors: VectorStore) -> None:
        """Vectors follow rows an undone append took out (kept in SQLite, then deleted from Chroma) or
        brought back (written to Chroma again, then dropped from SQLite). Idempotent, so a crash in
        between is finished at the next flush; the rows stay in the outbox until then."""
        with self.store.connect() as conn:
            out = conn.execute(
                "SELECT removed_rows.id, removed_rows.dataset_id, datasets.embedding_model, datasets.modality"
                " FROM mirror_pending JOIN removed_rows ON removed_rows.id = mirror_pending.row_id"
                " JOIN datasets ON datasets.id = removed_rows.dataset_id"
            ).fetchall()
            back = conn.execute(
                "SELECT rows.id, rows.dataset_id, removed_vectors.space, removed_vectors.vector"
                " FROM mirror_pending JOIN rows ON rows.id = mirror_pending.row_id"
                " JOIN removed_vectors ON removed_vectors.row_id = rows.id"
            ).fetchall()
        groups: dict[tuple[int, str, str], list[int]] = {}
        for row_id, dataset_id, model_id, modality in out:
            groups.setdefault((dataset_id, model_id, modality), []).append(row_id)
        from core.concepts import concept_space_id

        for (dataset_id, model_id, modality), row_ids in groups.items():
            spaces = [model_id] + ([concept_space_id(model_id)] if modality == "image" else [])
            for space in spaces:
                if not vectors.has_collection(dataset_id, space):
                    continue
                kept = vectors.get_vectors(dataset_id, space, row_ids)
                with self.store.transaction() as conn:
                    conn.executemany(
                        "INSERT OR REPLACE INTO removed_vectors(row_id, space, vector) VALUES(?,?,?)",
                        [(r, space, v.astype(np.float32).tobytes()) for r, v in kept.items()],
                    )
                vectors.delete(dataset_id, space, row_ids)
        if out:
            with self.store.transaction() as conn:
                conn.executemany("DELETE FROM mirror_pending WHERE row_id = ?", [(r[0],) for r in out])
        by_space: dict[tuple[int, str], list[tuple[int, np.ndarray]]] = {}
        for row_id, dataset_id, space, blob in back:
            by_space.setdefault((dataset_id, space), []).append((row_id, np.frombuffer(blob, dtype=np.float32)))
        for (dataset_id, space), items in by_space.items():
            ids = [i for i, _ in items]
            vectors.upsert(dataset_id, space, ids, np.stack([v for _, v in items]))
            with self.store.transaction() as conn:
                conn.executemany(
                    "DELETE FROM removed_vectors WHERE row_id = ? AND space = ?", [(i, space) for i in ids]
                )
