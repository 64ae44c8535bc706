"""Bulk label and undo on a large dataset, and why Chroma keeps no copy of the filter fields.

    python bench/bulk_actions.py              # 100,000 rows, about 5 minutes on 2 cores
    python bench/bulk_actions.py --rows 20000

No model: rows get random 384-d unit vectors (the size of MiniLM's), so the figures are about the
store and Chroma, not embedding. Prints, in one run:

1. A bulk label of 10,000 rows and its undo (``core.actions.bulk_classify``, ``Workspace.undo``), split
   into the row-by-row SQLite work and the rest (commit, outbox, Chroma).
2. A filtered top-50 query on the same vectors restricted two ways: Chroma's own ``where`` on a
   metadata field (what the removed filter mirror allowed) and ``ids=`` (what core/search.py does),
   for a filter matching 60% and 90% of the rows. The mirror's upkeep was most of a bulk action's
   time (7.2 s of a 10k-row bulk label in the 2026-11 figures); this shows what it bought a query.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DIM = 384
BULK_ROWS = 10_000
QUERIES = 15


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def stored_workspace(root: Path, n: int):
    """A workspace with ``n`` text rows (a third "a", a third "b", a third unlabeled), all embedded."""
    import pandas as pd

    from core.readers import Table
    from core.schema import ColumnMapping, build_rows
    from core.workspace import Workspace

    ws = Workspace(root)
    frame = pd.DataFrame({"text": [f"row {i}" for i in range(n)], "label": (["a", "b", ""] * n)[:n]})
    rows = build_rows(Table(frame, kind="table"), ColumnMapping(text_columns=["text"], label_column="label"))
    with ws.store.transaction() as conn:
        dataset_id = ws.store.create_dataset(conn, "synthetic", modality="text", embedding_model="minilm-l6-v2")
        ws.store.insert_rows(conn, dataset_id, 1, rows)
        ws.store.set_classes(conn, dataset_id, "label", ["a", "b"])
        conn.execute("UPDATE rows SET embedded = 1 WHERE dataset_id = ?", (dataset_id,))
    ids = ws.store.row_ids(dataset_id)
    ws.vectors.upsert(dataset_id, "minilm-l6-v2", ids, unit_vectors(n))
    return ws, dataset_id, ids


def bulk_label_and_undo(ws, dataset_id: int, ids: list[int]) -> None:
    from core.actions import bulk_classify

    marks: list[float] = []
    t0 = time.perf_counter()
    result = bulk_classify(
        ws, dataset_id, ids[:BULK_ROWS], "c", on_progress=lambda done, total: marks.append(time.perf_counter())
    )
    bulk_s = time.perf_counter() - t0
    rows_s = marks[-1] - t0
    t0 = time.perf_counter()
    undone = ws.undo(result.batch_id)
    undo_s = time.perf_counter() - t0
    print(
        f"bulk label {result.changed:,} rows: {bulk_s:.2f} s (rows {rows_s:.2f} s, the rest {bulk_s - rows_s:.2f} s);"
        f" undo {undo_s:.2f} s ({undone.restored:,} restored)",
        flush=True,
    )


def where_against_ids(root: Path, n: int) -> None:
    """The same vectors in a collection whose metadata holds a label, queried both ways."""
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(path=str(root / "with-metadata"), settings=Settings(anonymized_telemetry=False))
    coll = client.get_or_create_collection("with-metadata", embedding_function=None, metadata={"hnsw:space": "cosine"})
    vectors = unit_vectors(n)
    step = int(client.get_max_batch_size())
    for start in range(0, n, step):
        stop = min(n, start + step)
        coll.upsert(
            ids=[str(i) for i in range(start, stop)],
            embeddings=vectors[start:stop],
            metadatas=[{"d60": i % 10 < 6, "d90": i % 10 < 9} for i in range(start, stop)],
        )
    queries = unit_vectors(QUERIES, seed=1)
    for field, share in (("d60", 0.6), ("d90", 0.9)):
        allowed = [str(i) for i in range(n) if i % 10 < int(share * 10)]
        for how, kwargs in (("where", {"where": {field: True}}), ("ids", {"ids": allowed})):
            coll.query(query_embeddings=queries[:1], n_results=50, include=["distances"], **kwargs)  # warm up
            seconds = []
            for q in queries:
                t0 = time.perf_counter()
                coll.query(query_embeddings=q.reshape(1, -1), n_results=50, include=["distances"], **kwargs)
                seconds.append(time.perf_counter() - t0)
            print(
                f"top-50 query, filter matching {share:.0%} of {n:,} rows, restricted by {how:5}:"
                f" p50 {np.median(seconds) * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms ({QUERIES} queries)",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="curator-bulk-") as tmp:
        t0 = time.perf_counter()
        ws, dataset_id, ids = stored_workspace(Path(tmp) / "workspace", args.rows)
        print(f"{args.rows:,} rows stored and their vectors in Chroma in {time.perf_counter() - t0:.0f} s", flush=True)
        bulk_label_and_undo(ws, dataset_id, ids)
        where_against_ids(Path(tmp), args.rows)
    print(f"machine: 1-min load average {os.getloadavg()[0]:.1f} after timing", flush=True)


if __name__ == "__main__":
    main()
