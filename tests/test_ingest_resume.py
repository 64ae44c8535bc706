"""kill -9 of a real `curator ingest` process, then `curator resume`: nothing lost, nothing twice.

The CLI runs as a subprocess (``python -m core.cli``) and is killed with SIGKILL, so no handler,
``finally`` or atexit runs: what survives is exactly what SQLite and Chroma had made durable.
The test only reads the workspace database (read-only) while the ingest runs.
"""

from __future__ import annotations

import csv
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from core.config import ChromaSettings
from core.workspace import Workspace
from tests.conftest import REPO, shared, size_of

pytestmark = pytest.mark.slow

N_ROWS = 2_500
N_BIG = 100_000
CHUNK = 512  # killed once this many rows are embedded: several chunks in (run_ingest's hold at most 512)
# The summary line `curator ingest` / `curator resume` prints for each job.
REPORT = re.compile(
    r"job \d+: (\w+); ([\d,]+) of ([\d,]+) rows embedded \(([\d,]+) computed, [\d,]+ from cache"
    r"(?:, ([\d,]+) already embedded before)?\)"
)


def cli_env() -> dict[str, str]:
    """Embedded Chroma inside the workspace, offline models, whatever the caller's environment says."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CURATOR_CHROMA_")}
    env.pop("CURATOR_WORKSPACE", None)
    env["HF_HUB_OFFLINE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def curator(ws: Path, *args: str, stdout, stderr) -> subprocess.Popen:
    """Start the CLI in the background on one workspace (stdout/stderr: open files)."""
    return subprocess.Popen(
        [sys.executable, "-m", "core.cli", "--workspace", str(ws), *args],
        cwd=REPO,
        env=cli_env(),
        stdout=stdout,
        stderr=stderr,
    )


def query(db: Path, sql: str, args: tuple = ()) -> list[tuple]:
    """Read the workspace database without writing to it (uncommitted work stays invisible)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def row_progress(db: Path) -> tuple[int, int] | None:
    """(rows, embedded rows), or None while the database or its tables do not exist yet."""
    if not db.exists():
        return None
    try:
        total, embedded = query(db, "SELECT COUNT(*), COALESCE(SUM(embedded = 1), 0) FROM rows")[0]
    except sqlite3.DatabaseError:  # schema not created yet, or the file is still being set up
        return None
    return total, embedded


def write_head(source: Path, target: Path, n: int) -> Path:
    """The first ``n`` data rows of a CSV, text byte-for-byte as in the source."""
    with source.open(newline="", encoding="utf-8") as src:
        reader = csv.reader(src)
        rows = [next(reader) for _ in range(n + 1)]
    with target.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)
    return target


def curator_run(ws: Path, *args: str, timeout: float) -> subprocess.CompletedProcess:
    """Run the CLI to completion."""
    return subprocess.run(
        [sys.executable, "-m", "core.cli", "--workspace", str(ws), *args],
        cwd=REPO,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@pytest.mark.timeout(1800)  # the inner waits add up to more than the default 900 s
def test_kill_9_during_embedding_then_resume_finishes_without_duplicates(tmp_path):
    csv_path = write_head(shared("sentiment140/sentiment140_8k.csv"), tmp_path / "tweets.csv", N_ROWS)
    ws_dir = tmp_path / "workspace"
    db = ws_dir / "curator.sqlite"
    out_path, err_path = tmp_path / "ingest.out", tmp_path / "ingest.err"

    started = time.monotonic()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = curator(ws_dir, "ingest", str(csv_path), "--dataset", "tweets", stdout=out, stderr=err)
    try:
        deadline = time.monotonic() + 600
        while True:
            progress = row_progress(db)
            if progress is not None and CHUNK <= progress[1] < N_ROWS:
                os.kill(proc.pid, signal.SIGKILL)
                break
            if proc.poll() is not None:
                pytest.fail(
                    f"ingest ended (code {proc.returncode}) before it could be killed mid-embedding: "
                    f"progress {progress}\n{tail(err_path)}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"no embedding progress within 600 s: {progress}\n{tail(err_path)}")
            time.sleep(0.05)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    killed_after = time.monotonic() - started

    # What the kill left: every row stored once (phase 1 is one transaction), the job unfinished.
    total, embedded_at_kill = row_progress(db)
    assert total == N_ROWS
    assert CHUNK <= embedded_at_kill < N_ROWS
    distinct = "SELECT COUNT(DISTINCT source_id), COUNT(DISTINCT position) FROM rows"
    assert query(db, distinct) == [(N_ROWS, N_ROWS)]
    assert query(db, "SELECT status FROM jobs") == [("embedding",)]
    assert query(db, "SELECT name FROM datasets") == [("tweets",)]

    resume = curator_run(ws_dir, "resume", timeout=900)
    assert resume.returncode == 0, resume.stderr[-3000:]
    match = REPORT.search(resume.stdout)
    assert match, resume.stdout
    status = match[1]
    embedded, total_reported, computed = (int(g.replace(",", "")) for g in match.groups()[1:4])
    assert (status, embedded, total_reported) == ("done", N_ROWS, N_ROWS)
    assert int(match[5].replace(",", "")) == embedded_at_kill
    # Rows embedded before the kill were not computed again; at most the pending ones were.
    assert 0 < computed <= N_ROWS - embedded_at_kill

    assert query(db, "SELECT COUNT(*), SUM(embedded = 1), COUNT(DISTINCT source_id) FROM rows") == [
        (N_ROWS, N_ROWS, N_ROWS)
    ]
    assert query(db, "SELECT COUNT(*), MIN(status) FROM jobs") == [(1, "done")]

    ws = Workspace(ws_dir, chroma=ChromaSettings())
    ds = ws.dataset("tweets")
    assert ws.vectors.count(ds.id, ds.embedding_model) == N_ROWS
    stored_ids = ws.vectors.collection(ds.id, ds.embedding_model).get(include=[])["ids"]
    assert sorted(map(int, stored_ids)) == sorted(ws.store.row_ids(ds.id))

    again = curator_run(ws_dir, "resume", timeout=300)
    assert again.returncode == 0 and "nothing to resume" in again.stdout
    print(f"killed after {killed_after:.1f} s, {embedded_at_kill} rows embedded; resume computed {computed}")


def _alive_for(seconds: float) -> Callable[[Path, float], bool]:
    return lambda wal, started: time.monotonic() - started >= seconds


def _wal_at_least(min_bytes: int) -> Callable[[Path, float], bool]:
    """The rows transaction is being written: SQLite spills its uncommitted pages to the WAL."""
    return lambda wal, started: size_of(wal) >= min_bytes


@pytest.mark.parametrize(
    "kill_when",
    [_alive_for(1.5), _wal_at_least(1_000_000)],
    ids=["after-1.5s", "while-rows-are-written"],
)
def test_kill_9_during_phase_1_stores_all_rows_or_none(tmp_path, kill_when):
    source = shared("sentiment140/sentiment140_100k.csv")
    ws_dir = tmp_path / "workspace"
    db = ws_dir / "curator.sqlite"
    wal = db.with_name(db.name + "-wal")
    err_path = tmp_path / "ingest.err"

    started = time.monotonic()
    with err_path.open("wb") as err:
        proc = curator(ws_dir, "ingest", str(source), "--dataset", "tweets-100k", stdout=err, stderr=err)
    try:
        deadline = started + 300
        while not kill_when(wal, started):
            if proc.poll() is not None:
                pytest.fail(f"ingest ended (code {proc.returncode}) before the kill\n{tail(err_path)}")
            if time.monotonic() > deadline:
                pytest.fail(f"kill condition not reached within 300 s\n{tail(err_path)}")
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    if not db.exists():  # killed before the workspace was even created
        print(f"killed after {time.monotonic() - started:.1f} s: no workspace yet")
        return
    # Reopen as the next run would (SQLite discards the uncommitted part of the WAL here).
    ws = Workspace(ws_dir, chroma=ChromaSettings())
    with ws.store.connect() as conn:
        rows = conn.execute("SELECT COUNT(*) FROM rows").fetchone()[0]
        datasets = conn.execute("SELECT id FROM datasets").fetchall()
        jobs = conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
    assert rows in (0, N_BIG), f"a killed phase 1 left {rows} rows"
    if rows == 0:
        assert (datasets, jobs) == ([], 0), "a dataset or job exists without its rows"
        assert ws.datasets() == []
    else:
        [(dataset_id,)] = datasets
        assert ws.status(dataset_id).rows == N_BIG
        assert jobs == 1
    print(f"killed after {time.monotonic() - started:.1f} s: {rows} rows stored")
