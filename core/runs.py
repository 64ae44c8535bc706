"""Saved runs: a model's output over a dataset, stored once and reloaded (house style).

A run has a kind ("autolabel", later "issues"), the settings it was made with, a small JSON
summary (thresholds, counts, curves) and its arrays (row ids, probabilities) in an ``.npz`` file
under ``workspace/runs/``. Its key names what it was computed from (dataset version + model +
settings): a page shows the newest run of a kind and says when the data has changed since.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import NotFoundError
from core.store import now

if TYPE_CHECKING:
    from core.workspace import Workspace


@dataclass(frozen=True)
class Run:
    id: str
    dataset_id: int
    kind: str
    key: str
    dataset_version: int
    settings: dict[str, Any]
    summary: dict[str, Any]
    created_at: str
    path: Path

    def arrays(self) -> dict[str, np.ndarray]:
        """The run's arrays (read from disk each call; keep the result rather than calling again)."""
        try:
            with np.load(self.path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except FileNotFoundError as exc:
            raise NotFoundError(f"The results of run {self.id} are missing ({self.path}); run it again.") from exc


def run_key(dataset_version: int, settings: dict[str, Any]) -> str:
    """Same data version and settings, same key."""
    blob = json.dumps(settings, sort_keys=True, default=str)
    return f"v{dataset_version}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def save_run(
    ws: Workspace,
    dataset_id: int,
    kind: str,
    *,
    dataset_version: int,
    settings: dict[str, Any],
    summary: dict[str, Any],
    arrays: dict[str, np.ndarray],
    run_id: str | None = None,
) -> Run:
    """Store a run: arrays first (a file nobody points to is harmless), then its row. ``run_id``: one
    made beforehand with ``new_run_id`` (when the summary names it, e.g. in a model id)."""
    run_id = run_id or new_run_id()
    folder = ws.root / "runs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_id}.npz"
    tmp = folder / f"{run_id}.tmp.npz"
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)
    created = now()
    key = run_key(dataset_version, settings)
    with ws.store.transaction() as conn:
        conn.execute(
            "INSERT INTO runs(id, dataset_id, kind, key, dataset_version, settings_json, summary_json, created_at)"
            " VALUES(?,?,?,?,?,?,?,?)",
            (run_id, dataset_id, kind, key, dataset_version, json.dumps(settings), json.dumps(summary), created),
        )
    return Run(run_id, dataset_id, kind, key, dataset_version, settings, summary, created, path)


def prune_runs(ws: Workspace, dataset_id: int, kind: str, *, keep: int, spare: Collection[str] = ()) -> int:
    """Delete all but the ``keep`` newest runs of a kind for a dataset and the ``spare`` ones (in use
    now, however old), rows and files; returns how many went. Only for kinds nothing else points to
    (caches such as learning curves): an auto-label run is named by the labels it wrote, and stays."""
    with ws.store.transaction() as conn:
        old = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM runs WHERE dataset_id = ? AND kind = ? ORDER BY created_at DESC, rowid DESC"
                " LIMIT -1 OFFSET ?",
                (dataset_id, kind, keep),
            )
            if r[0] not in spare
        ]
        conn.executemany("DELETE FROM runs WHERE id = ?", [(r,) for r in old])
    for run_id in old:  # after the commit: a file nobody points to is harmless, a row without its file is not
        (ws.root / "runs" / f"{run_id}.npz").unlink(missing_ok=True)
    return len(old)


def latest_run(ws: Workspace, dataset_id: int, kind: str, *, question: str | None = None) -> Run | None:
    """The newest run of a kind for a dataset (for ``question``: made for that question of the label
    schema; runs without one answered the first question, "label"), or None."""
    where, args = "", []
    if question is not None:
        where, args = " AND COALESCE(json_extract(settings_json, '$.question'), 'label') = ?", [question]
    with ws.store.connect() as conn:
        row = conn.execute(
            f"SELECT * FROM runs WHERE dataset_id = ? AND kind = ?{where} ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (dataset_id, kind, *args),
        ).fetchone()
    return _run(ws, row) if row else None


def find_run(ws: Workspace, dataset_id: int, kind: str, key: str) -> Run | None:
    """The newest run of a kind made with ``key`` (same data version and settings), or None."""
    with ws.store.connect() as conn:
        row = conn.execute(
            "SELECT * FROM runs WHERE dataset_id = ? AND kind = ? AND key = ? ORDER BY created_at DESC, rowid DESC"
            " LIMIT 1",
            (dataset_id, kind, key),
        ).fetchone()
    return _run(ws, row) if row else None


def get_run(ws: Workspace, run_id: str) -> Run:
    with ws.store.connect() as conn:
        row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"No stored run with id {run_id}.")
    return _run(ws, row)


def add_to_summary(conn: sqlite3.Connection, run_id: str, key: str, name: str, value: Any) -> None:
    """Add ``name: value`` to the mapping ``key`` of a run's summary inside the caller's transaction (an
    accept records its threshold in the transaction that writes its labels: both land or neither)."""
    row = conn.execute("SELECT summary_json FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"No stored run with id {run_id}.")
    summary = json.loads(row[0])
    summary[key] = {**summary.get(key, {}), name: value}
    conn.execute("UPDATE runs SET summary_json = ? WHERE id = ?", (json.dumps(summary), run_id))


def _run(ws: Workspace, row: sqlite3.Row) -> Run:
    return Run(
        id=row["id"],
        dataset_id=row["dataset_id"],
        kind=row["kind"],
        key=row["key"],
        dataset_version=row["dataset_version"],
        settings=json.loads(row["settings_json"]),
        summary=json.loads(row["summary_json"]),
        created_at=row["created_at"],
        path=ws.root / "runs" / f"{row['id']}.npz",
    )
