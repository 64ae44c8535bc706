"""kill -9 during a bulk action and during an export (real subprocesses): a bulk action is either
fully applied with its history entry or fully absent, and an export never leaves a half file
under its name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from core.config import ChromaSettings
from core.workspace import Workspace
from tests.conftest import REPO, shared, size_of

pytestmark = pytest.mark.slow

N = 100_000
BULK = """
import sys
from core.actions import bulk_classify
from core.config import ChromaSettings
from core.workspace import Workspace
ws = Workspace(sys.argv[1], chroma=ChromaSettings())
ids = ws.store.row_ids(ws.dataset("tweets").id)
print("start", flush=True)
bulk_classify(ws, ws.dataset("tweets").id, ids, "killed-class")
print("done", flush=True)
"""
EXPORT = """
import sys
from core.config import ChromaSettings
from core.export import export_dataset
from core.workspace import Workspace
ws = Workspace(sys.argv[1], chroma=ChromaSettings())
print("start", flush=True)
export_dataset(ws, ws.dataset("tweets").id, sys.argv[2], fmt="csv")
print("done", flush=True)
"""


@pytest.fixture(scope="module")
def tweets(tmp_path_factory) -> Path:
    """sentiment140 100k stored (no embeddings needed for labels or exports)."""
    from core.ingest import load_source, start_ingest
    from core.schema import infer_mapping

    root = tmp_path_factory.mktemp("kill-actions") / "workspace"
    ws = Workspace(root, chroma=ChromaSettings())
    table = load_source(ws, shared("sentiment140/sentiment140_100k.csv"))
    start_ingest(ws, table, infer_mapping(table), "tweets", source="sentiment140_100k.csv")
    return root


def run_and_kill(script: str, args: list[str], ready, timeout: float = 300) -> int | None:
    """Start ``script``, SIGKILL it once ``ready()`` is true; returns the exit code (None if it finished first)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", script, *args], cwd=REPO, env=env, stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == b"start"
        deadline = time.monotonic() + timeout
        while not ready():
            if proc.poll() is not None:
                return None
            if time.monotonic() > deadline:
                pytest.fail("the kill condition was not reached")
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        return proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_kill_9_during_a_bulk_action_leaves_all_or_nothing(tweets: Path) -> None:
    wal = tweets / "curator.sqlite-wal"
    size = size_of(wal)
    # Kill once the transaction has written a good part of its changes to the WAL (not yet committed).
    code = run_and_kill(BULK, [str(tweets)], lambda: size_of(wal) > size + 20_000_000)
    ws = Workspace(tweets, chroma=ChromaSettings())
    dataset_id = ws.dataset("tweets").id
    labeled = ws.store.label_distribution(dataset_id).get("killed-class", 0)
    with ws.store.connect() as conn:
        batches = conn.execute("SELECT id, n_events FROM batches WHERE action = 'bulk_label'").fetchall()
    if code is None:  # finished before the kill: then it must be complete
        assert labeled == N and len(batches) == 1
    else:
        assert code == -signal.SIGKILL
        assert labeled in (0, N), f"a killed bulk action left {labeled:,} rows changed"
        assert len(batches) == (1 if labeled else 0)
    if batches:
        assert batches[0][1] == N  # the history holds every change of a completed action
    print(f"killed: {code is not None}; rows labeled after restart: {labeled:,}")


def test_kill_9_during_an_export_leaves_no_half_file(tweets: Path, tmp_path: Path) -> None:
    target = tmp_path / "tweets.csv"
    partial = tmp_path / ".tweets.csv.partial"
    code = run_and_kill(EXPORT, [str(tweets), str(target)], lambda: size_of(partial) > 500_000)
    assert code == -signal.SIGKILL, "the export finished before it could be killed"
    assert not target.exists(), "a killed export must not leave a file under the export's name"
    # Exporting again replaces the leftover and writes the whole file.
    again = run_and_kill(EXPORT, [str(tweets), str(target)], lambda: False, timeout=300)
    assert again is None and target.exists() and not partial.exists()
    assert len(pd.read_csv(target, keep_default_na=False, usecols=["curator_id"])) == N
