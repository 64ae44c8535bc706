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
