"""Shared fixtures: real data from ../shared/data, real models loaded once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CURATOR_SHARED_DATA", REPO.parent / "shared" / "data"))
DEMO = REPO / "demo"


def shared(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.fail(f"shared test data missing: {path} (set CURATOR_SHARED_DATA)")
    return path


def size_of(path: Path) -> int:
    """A file's size, 0 while it does not exist. One stat: a file another process writes can vanish
    between an exists() and a stat() (SQLite deletes its WAL on the last close; a finished export
    renames its partial file), so polling with exists() then stat() races."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


@pytest.fixture(scope="session")
def minilm():
    from core.embedders import create_embedder

    return create_embedder("minilm-l6-v2").setup()


@pytest.fixture(scope="session")
def effnet():
    from core.embedders import DEFAULT_IMAGE_MODEL, load_embedder

    return load_embedder(DEFAULT_IMAGE_MODEL)


@pytest.fixture
def ws(tmp_path):
    from core.workspace import Workspace

    return Workspace(tmp_path / "workspace")


@pytest.fixture
def dataset(ws):
    """Eight short text rows, three labeled ("a", "b", "a"), no embeddings: for store-level actions."""
    import pandas as pd

    from core.readers import Table
    from core.schema import ColumnMapping, build_rows

    frame = pd.DataFrame(
        {"text": [f"sentence number {i}" for i in range(8)], "label": ["a", "", "b", "", "", "a", "", ""]}
    )
    rows = build_rows(Table(frame, kind="table"), ColumnMapping(text_columns=["text"], label_column="label"))
    with ws.store.transaction() as conn:
        dataset_id = ws.store.create_dataset(conn, "d", modality="text", embedding_model="minilm-l6-v2")
        ws.store.insert_rows(conn, dataset_id, 1, rows)
        ws.store.set_classes(conn, dataset_id, "label", ["a", "b"])
    return dataset_id, ws.store.row_ids(dataset_id)
