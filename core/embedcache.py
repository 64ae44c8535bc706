"""Embeddings cached by (model id, content hash): re-ingesting or adding rows never recomputes
a vector that exists. A separate SQLite file, so a backup may leave it out (it can be rebuilt)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.store import chunked


class EmbeddingCache:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS vectors(model_id TEXT NOT NULL, content_hash TEXT NOT NULL,"
                " vector BLOB NOT NULL, PRIMARY KEY(model_id, content_hash)) WITHOUT ROWID"
            )

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def get(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        conn = self._connect()
        try:
            for part in chunked(sorted(set(hashes))):
                marks = ",".join("?" * len(part))
                for h, blob in conn.execute(
                    f"SELECT content_hash, vector FROM vectors WHERE model_id = ? AND content_hash IN ({marks})",
                    [model_id, *part],
                ):
                    found[h] = np.frombuffer(blob, dtype=np.float32)
        finally:
            conn.close()
        return found

    def cached(self, model_id: str, hashes: Sequence[str]) -> set[str]:
        """Which of ``hashes`` have a vector for ``model_id`` (without reading the vectors)."""
        found: set[str] = set()
        conn = self._connect()
        try:
            for part in chunked(sorted(set(hashes))):
                marks = ",".join("?" * len(part))
                found.update(
                    h
                    for (h,) in conn.execute(
                        f"SELECT content_hash FROM vectors WHERE model_id = ? AND content_hash IN ({marks})",
                        [model_id, *part],
                    )
                )
        finally:
            conn.close()
        return found

    def put(self, model_id: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
        conn = self._connect()
        try:
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT OR IGNORE INTO vectors(model_id, content_hash, vector) VALUES(?,?,?)",
                [
                    (model_id, h, np.asarray(v, dtype=np.float32).tobytes())
                    for h, v in zip(hashes, vectors, strict=True)
                ],
            )
            conn.execute("COMMIT")
        finally:
            conn.close()

    def count(self, model_id: str | None = None) -> int:
        conn = self._connect()
        try:
            if model_id is None:
                return conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
            return conn.execute("SELECT COUNT(*) FROM vectors WHERE model_id = ?", (model_id,)).fetchone()[0]
        finally:
            conn.close()
